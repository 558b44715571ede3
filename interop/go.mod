module github.com/zrouter/zrouter/interop

go 1.26

// The zrouter library itself comes from the parent directory (replace below).
// go mod tidy drops this line while no package here imports zrouter yet.
require github.com/zrouter/zrouter v0.0.0

require (
	github.com/pebbe/zmq4 v1.4.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace github.com/zrouter/zrouter => ../
