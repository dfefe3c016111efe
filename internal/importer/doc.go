// Package importer translates an IIS or nginx client-certificate setup into
// a certgate.yaml, and reports every setting it could not translate.
//
// The translation is of semantics, not of words: IIS's sslFlags become
// location policies, nginx's "ssl_verify_client optional" becomes accept
// with reject_invalid (nginx answers a failed verification with 400/495
// even when the certificate is optional), a server without ssl_crl checks no
// revocation. When the source's meaning cannot be expressed exactly the
// importer chooses the stricter behaviour and says so in the Report; a
// security setting is never dropped without a report entry.
//
// The output is generated from the config types (config.Site and friends)
// and parsed back with config.Parse before it is returned, so what the
// importer writes is what certgate loads. Each translated block carries a
// comment naming the source file and line it came from.
//
// Inputs are untrusted files: the XML reader, the netsh reader and the
// nginx parser bound sizes, depths and include counts, and the nginx parser
// has a fuzz target.
package importer
