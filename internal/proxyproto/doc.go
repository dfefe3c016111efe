// Package proxyproto reads the PROXY protocol header (versions 1 and 2,
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt) that a TCP
// proxy such as HAProxy, nginx stream or an AWS NLB sends before the
// client's own bytes, so that the gateway knows the real client address.
//
// The header is untrusted input even from a trusted proxy (a
// misconfigured one may forward a client's own header), so the parser is
// strict: exactly one header, at the very start, within MaxHeaderLen
// bytes, every field as the specification spells it; anything else is an
// error and the connection is to be closed. It never reads past the
// header: the bytes after it are the client's TLS handshake.
package proxyproto
