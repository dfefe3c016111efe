// Package echo is certgate's built-in upstream (`upstream: echo`): it
// answers every request with JSON describing the request as an upstream
// behind certgate would receive it (method, path, Host, headers after the
// identity headers a client could spoof were removed), the TLS connection
// and the client identity the gateway established (certificate, mapped
// user and groups, a failed outcome on an accept location). The demo, the
// tests and the keep-alive benchmark (docs/benchmarks.md) read it.
//
// The gateway calls Serve directly, with the Identity it decided and the
// connection's Conn memo: no request copy, no context value. The memo
// keeps what does not change between the requests of a keep-alive
// connection (certificate texts, TLS names, the encoded tail of the last
// response), and the encoder (json.go) writes exactly what
// json.MarshalIndent(resp, "", "  ") would, in one pass.
//
// The package knows nothing of the gateway: Identity is a plain struct the
// gateway fills per request, so echo imports only the verification
// outcome type (internal/verify).
package echo
