module github.com/zrouter/zrouter

go 1.26
