package issuerlist

import "crypto/x509"

// SchannelBytes is where Windows Schannel starts dropping CAs from the
// list it sends and logs event 36885 ("the list has grown too long and has
// been truncated"). Setting max_bytes to this value reproduces it. The
// warning threshold and the protocol maximum are config defaults
// (config.DefaultIssuerListWarnBytes, config.MaxIssuerListBytes).
const SchannelBytes = 12288

// EncodedSize is the size of names as encoded in the CertificateRequest:
// each DER DistinguishedName with its 2-byte length prefix.
func EncodedSize(names [][]byte) int {
	n := 0
	for _, dn := range names {
		n += 2 + len(dn)
	}
	return n
}

// NameSize is the encoded size of one certificate's subject in the list.
func NameSize(c *x509.Certificate) int { return 2 + len(c.RawSubject) }

// Result is a list after applying a limit.
type Result struct {
	// Kept are the CAs sent, in configured order.
	Kept []*x509.Certificate
	// Dropped are the CAs that did not fit, in configured order.
	Dropped []*x509.Certificate
	// Bytes is the encoded size of Kept; TotalBytes that of the whole list.
	Bytes, TotalBytes int
}

// Names returns the DER subjects of the kept CAs, the value for
// tls.Config.ClientCAs-equivalent lists and CertificateRequestInfo.AcceptableCAs.
func (r Result) Names() [][]byte {
	out := make([][]byte, len(r.Kept))
	for i, c := range r.Kept {
		out[i] = c.RawSubject
	}
	return out
}

// Truncate keeps CAs in configured order while the encoded size stays within
// maxBytes and drops the rest from the end, the way Schannel truncates: once
// one CA does not fit, no later (even smaller) CA is sent, so that the order
// an admin configured is also the priority order. maxBytes <= 0 means no limit.
func Truncate(cas []*x509.Certificate, maxBytes int) Result {
	var r Result
	for _, c := range cas {
		r.TotalBytes += NameSize(c)
	}
	for i, c := range cas {
		if maxBytes > 0 && r.Bytes+NameSize(c) > maxBytes {
			r.Dropped = cas[i:len(cas):len(cas)]
			break
		}
		r.Kept = append(r.Kept, c)
		r.Bytes += NameSize(c)
	}
	return r
}
