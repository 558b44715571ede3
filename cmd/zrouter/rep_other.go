//go:build !unix

package main

import "os/exec"

// killGroup leaves cmd as it is: cancellation kills the command alone.
func killGroup(*exec.Cmd) {}
