package device

import "errors"

// ErrRunning reports a second call of a device's Run: a device runs once.
var ErrRunning = errors.New("device: Run called twice")

// ErrBadSocket reports a socket a device cannot work with: a nil one, or a
// ROUTER in the wrong mode for a LoadBalancer.
var ErrBadSocket = errors.New("device: unsuitable socket")

// ErrBadOption reports an option with a bad value, or one given to a
// device it does not apply to.
var ErrBadOption = errors.New("device: invalid option")
