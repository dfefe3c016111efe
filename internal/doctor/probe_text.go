package doctor

import (
	"io"
	"net"
	"strings"
)

// WriteText renders r for people.
func (r *ProbeReport) WriteText(w io.Writer) error {
	p := &printer{w: w}
	if net.ParseIP(r.ServerName) != nil {
		// crypto/tls sends no server_name extension for an IP (RFC 6066 §3).
		p.line("Probe %s (connected to %s, no SNI: IP address)", r.URL, r.Address)
	} else {
		p.line("Probe %s (connected to %s, SNI %s)", r.URL, r.Address, r.ServerName)
	}
	if r.TLSVersion != "" {
		p.line("TLS: %s, %s", r.TLSVersion, r.CipherSuite)
	}
	if r.HandshakeError != "" {
		p.line("Handshake failed after the server's request: %s", r.HandshakeError)
	}
	switch {
	case r.ServerCert == nil:
	case r.ServerTrusted:
		p.line("Server certificate: %s (verified)", r.ServerCert.Subject)
	case r.ServerError == "":
		p.line("Server certificate: %s (not verified: --insecure)", r.ServerCert.Subject)
	default:
		p.line("Server certificate: %s (NOT TRUSTED: %s)", r.ServerCert.Subject, r.ServerError)
	}
	p.blank()
	if !r.CertificateRequested {
		p.line("Client certificate requested: no (the server sent no CertificateRequest)")
	} else {
		p.line("Client certificate requested: yes")
		writeNames(p, r.CANames)
		if r.CACount > 0 {
			p.line("Encoded size: %d bytes in %d name(s): %s Schannel's %d, %s warn_bytes %d, %s the %d-byte maximum",
				r.CABytes, r.CACount,
				cmp(r.CABytes, r.Limits.SchannelBytes), r.Limits.SchannelBytes,
				cmp(r.CABytes, r.Limits.WarnBytes), r.Limits.WarnBytes,
				cmp(r.CABytes, r.Limits.MaxBytes), r.Limits.MaxBytes)
			if r.CABytes > r.Limits.SchannelBytes {
				p.line("  Past %d bytes a Windows server truncates this list (event 36885); behind it clients of the dropped CAs get 403.7.", r.Limits.SchannelBytes)
			}
		}
		if len(r.SignatureSchemes) > 0 {
			p.line("Signature schemes: %s", strings.Join(r.SignatureSchemes, ", "))
		}
	}
	if r.ClientCert != nil {
		p.blank()
		p.line("Client certificate sent: %s", r.ClientCert.Subject)
		p.line("  issuer %s", r.ClientCert.Issuer)
		p.line("  sha256 %s", r.ClientCert.SHA256)
	}
	if r.ClientCertNote != "" {
		p.line("Client certificate: %s", r.ClientCertNote)
	}
	if r.Response != nil {
		p.blank()
		if r.Response.Error != "" {
			p.line("Response: none (%s)", r.Response.Error)
		} else {
			p.line("Response: %d %s", r.Response.Status, r.Response.StatusText)
		}
		if r.Response.SubStatus != "" {
			p.line("  sub-status %s (from %s)%s", r.Response.SubStatus, r.Response.From, codeSuffix(r.Response.Code))
			// The code is the more precise of the two (403.16 has a dozen causes).
			if r.Response.Code != "" {
				p.line("  next: certgate explain %s", r.Response.Code)
			} else {
				p.line("  next: certgate explain %s", r.Response.SubStatus)
			}
		}
		if r.Response.Title != "" {
			p.line("  title: %s", r.Response.Title)
		}
		if r.Response.Reason != "" {
			p.line("  reason: %s%s", elementPrefix(r.Response.Element), r.Response.Reason)
		}
	}
	if r.Select != nil {
		p.blank()
		if err := r.Select.WriteText(w); err != nil {
			return err
		}
	}
	return p.err
}

func cmp(n, limit int) string {
	if n > limit {
		return "OVER"
	}
	return "under"
}

func codeSuffix(code string) string {
	if code == "" {
		return ""
	}
	return ", code " + code
}

func elementPrefix(e string) string {
	if e == "" {
		return ""
	}
	return e + ": "
}
