package gateway

import (
	"context"
	"net"
)

// listenTCP opens a listener on addr, with SO_REUSEPORT when reusePort
// (config reuse_port).
func listenTCP(addr string, reusePort bool) (net.Listener, error) {
	var lc net.ListenConfig
	if reusePort {
		lc.Control = setReusePort
	}
	return lc.Listen(context.Background(), "tcp", addr)
}
