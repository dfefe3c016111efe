package gateway

import (
	"syscall"
)

// setReusePort sets SO_REUSEPORT on a listening socket before bind, so
// that a new certgate process can bind the port while the old one still
// serves (reuse_port).
func setReusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// soReusePort is SO_REUSEPORT on Linux (asm-generic/socket.h); package
// syscall predates it and does not define it.
const soReusePort = 0xf
