//go:build !linux

package gateway

import (
	"errors"
	"syscall"
)

func setReusePort(_, _ string, _ syscall.RawConn) error {
	return errors.New("reuse_port: supported on Linux only; use socket activation or a single process")
}
