package metrics

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/certgate/certgate/internal/proxyproto"
)

// Handshake failure reasons: the label values of handshake_failures_total.
const (
	// ReasonTimeout: the client did not finish the handshake within
	// timeouts.handshake (slow loris, or a browser waiting on its picker).
	ReasonTimeout = "timeout"
	// ReasonClientClosed: the client hung up mid-handshake (EOF, reset),
	// typical of a user cancelling the certificate picker.
	ReasonClientClosed = "client_closed"
	// ReasonNotTLS: the first bytes were not a TLS record (plain HTTP to the
	// HTTPS port, a port scanner).
	ReasonNotTLS = "not_tls"
	// ReasonClientAlert: the client aborted with a TLS alert, usually
	// because it does not trust the server certificate (unknown_ca,
	// bad_certificate).
	ReasonClientAlert = "client_alert"
	// ReasonProtocol: no common TLS version, cipher suite, curve or ALPN
	// protocol.
	ReasonProtocol = "protocol"
	// ReasonClientCert: the client certificate was refused during the
	// handshake itself.
	ReasonClientCert = "client_cert"
	// ReasonProxyProtocol: a connection from a trusted proxy did not start
	// with a valid PROXY protocol header.
	ReasonProxyProtocol = "proxy_protocol"
	// ReasonOther is everything else.
	ReasonOther = "other"
)

var handshakeReasons = []string{ReasonTimeout, ReasonClientClosed, ReasonNotTLS, ReasonClientAlert, ReasonProtocol, ReasonClientCert, ReasonProxyProtocol, ReasonOther}

func knownReason(r string) bool { return slices.Contains(handshakeReasons, r) }

// protocolMismatch are the crypto/tls messages for a failed negotiation;
// crypto/tls has no typed error for them.
var protocolMismatch = []string{
	"unsupported versions",
	"protocol version not supported",
	"no cipher suite supported",
	"no mutually supported",
	"no ECDHE curve",
	"no application protocol",
	"client does not support",
}

// HandshakeReason classifies an error from tls.Conn.Handshake into one of
// the Reason constants; it returns "" for a nil error.
func HandshakeReason(err error) string {
	if err == nil {
		return ""
	}
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return ReasonTimeout
	}
	if errors.Is(err, proxyproto.ErrNoHeader) || errors.Is(err, proxyproto.ErrMalformed) {
		return ReasonProxyProtocol
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return ReasonNotTLS
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return ReasonClientCert
	}
	// crypto/tls reports an alert received from the peer as a
	// *net.OpError with Op "remote error".
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return ReasonClientAlert
	}
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return ReasonClientAlert
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return ReasonClientClosed
	}
	msg := err.Error()
	for _, s := range protocolMismatch {
		if strings.Contains(msg, s) {
			return ReasonProtocol
		}
	}
	return ReasonOther
}
