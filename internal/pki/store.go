package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Store is a directory of PEM files as `certgate pki` lays it out:
//
//	NAME.pem        the certificate
//	NAME.key        its PKCS#8 key (0600)
//	NAME-chain.pem  certificate + intermediates, no root (leaves and intermediates)
//	NAME.p12        PKCS#12 for browsers (leaves, on request; 0600)
//	NAME.crlnumber  last CRL number issued by CA NAME
//	NAME.revoked    every certificate CA NAME has revoked (serial, date,
//	                reason, number of the first CRL listing it)
//
// CAs are referred to by base name. Parents are found by scanning the
// directory for the issuing CA certificate, so intermediates can be
// stacked to any depth without a separate index file.
type Store struct {
	Dir string
	// Force allows overwriting existing files. Without it, nothing is
	// written when any target exists, so a typo cannot replace a CA key and
	// orphan everything it issued.
	Force bool
}

// Written describes one file a Store operation wrote.
type Written struct {
	Path string
	What string // human description: "certificate CN=alice serial 0x.. sha256 .."
}

// P12Options asks IssueClient/IssueServer for a PKCS#12 file.
type P12Options struct {
	Password    string
	IncludeRoot bool
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, "-") {
		return fmt.Errorf("%w %q: want a plain base name such as \"root\" or \"alice\"", ErrInvalidName, name)
	}
	return nil
}

func (s Store) path(name, suffix string) string { return filepath.Join(s.Dir, name+suffix) }

// plan checks that none of paths exist (unless Force), before anything is
// written.
func (s Store) plan(paths ...string) error {
	if s.Force {
		return nil
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("write %s: %w (use --force to overwrite)", p, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

func describe(c *x509.Certificate) string {
	return fmt.Sprintf("certificate %q serial %s sha256 %s", c.Subject.String(), FormatSerial(c.SerialNumber), Fingerprint(c))
}

// Init creates the store directory (0700 if new) and a root CA NAME.pem /
// NAME.key.
func (s Store) Init(name, cn string, opts ...Option) (*CA, []Written, error) {
	if err := checkName(name); err != nil {
		return nil, nil, fmt.Errorf("init ca: %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("init ca: create directory: %w", err)
	}
	certPath, keyPath := s.path(name, ".pem"), s.path(name, ".key")
	if err := s.plan(certPath, keyPath); err != nil {
		return nil, nil, fmt.Errorf("init ca: %w", err)
	}
	ca, err := NewRoot(cn, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("init ca: %w", err)
	}
	w, err := s.writeCA(name, ca)
	if err != nil {
		return nil, nil, fmt.Errorf("init ca: %w", err)
	}
	return ca, w, nil
}

func (s Store) writeCA(name string, ca *CA) ([]Written, error) {
	certPath, keyPath := s.path(name, ".pem"), s.path(name, ".key")
	// Key first: a certificate without its key is useless, the reverse is
	// merely incomplete.
	if err := WriteKeyPEM(keyPath, ca.Key); err != nil {
		return nil, err
	}
	if err := WriteCertsPEM(certPath, ca.Cert); err != nil {
		return nil, err
	}
	w := []Written{{keyPath, "private key (PKCS#8, 0600)"}, {certPath, "CA " + describe(ca.Cert)}}
	if ca.Parent != nil {
		chainPath := s.path(name, "-chain.pem")
		if err := WriteCertsPEM(chainPath, withoutRoot(ca.Chain())...); err != nil {
			return nil, err
		}
		w = append(w, Written{chainPath, "CA chain without the root"})
	}
	return w, nil
}

func withoutRoot(chain []*x509.Certificate) []*x509.Certificate {
	if n := len(chain); n > 1 && IsSelfSigned(chain[n-1]) {
		return chain[:n-1]
	}
	return chain
}

// LoadCA loads CA NAME (NAME.pem and NAME.key) and links its issuers found
// among the CA certificates in the directory.
func (s Store) LoadCA(name string) (*CA, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	ca, err := LoadCA(s.path(name, ".pem"), s.path(name, ".key"))
	if err != nil {
		return nil, err
	}
	if ca.Parent != nil {
		return ca, nil // NAME.pem was a bundle that already names the issuers
	}
	cands, err := s.caCerts()
	if err != nil {
		return nil, err
	}
	tail := ca
	for depth := 0; depth < 32 && !IsSelfSigned(tail.Cert); depth++ {
		p := findIssuer(tail.Cert, cands)
		if p == nil {
			break // unknown issuer: chain stops here, Leaf.Chain keeps this CA
		}
		tail.Parent = &CA{Cert: p}
		tail = tail.Parent
	}
	return ca, nil
}

// caCerts returns every CA certificate in the directory's *.pem files.
// Unparseable files are skipped: the directory may hold anything.
func (s Store) caCerts() ([]*x509.Certificate, error) {
	paths, err := filepath.Glob(filepath.Join(s.Dir, "*.pem"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.Dir, err)
	}
	var out []*x509.Certificate
	seen := map[string]bool{}
	for _, p := range paths {
		certs, err := ReadCertsPEM(p)
		if err != nil {
			continue
		}
		for _, c := range certs {
			if c.IsCA && !seen[string(c.Raw)] {
				seen[string(c.Raw)] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

func findIssuer(c *x509.Certificate, cands []*x509.Certificate) *x509.Certificate {
	for _, p := range cands {
		if bytes.Equal(p.RawSubject, c.RawIssuer) && !p.Equal(c) && c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

// IssueIntermediate creates CA NAME signed by CA caName.
func (s Store) IssueIntermediate(caName, name, cn string, opts ...Option) (*CA, []Written, error) {
	if err := checkName(name); err != nil {
		return nil, nil, fmt.Errorf("issue intermediate: %w", err)
	}
	if err := s.plan(s.path(name, ".pem"), s.path(name, ".key"), s.path(name, "-chain.pem")); err != nil {
		return nil, nil, fmt.Errorf("issue intermediate: %w", err)
	}
	parent, err := s.LoadCA(caName)
	if err != nil {
		return nil, nil, fmt.Errorf("issue intermediate: %w", err)
	}
	ca, err := parent.NewIntermediate(cn, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("issue intermediate: %w", err)
	}
	w, err := s.writeCA(name, ca)
	if err != nil {
		return nil, nil, fmt.Errorf("issue intermediate: %w", err)
	}
	return ca, w, nil
}

// IssueServer issues a server certificate NAME from CA caName.
func (s Store) IssueServer(caName, name, cn string, hosts []string, p12 *P12Options, opts ...Option) (*Leaf, []Written, error) {
	return s.issueLeaf("issue server", caName, name, p12, func(ca *CA) (*Leaf, error) {
		return ca.IssueServer(cn, hosts, opts...)
	})
}

// IssueClient issues a client certificate NAME from CA caName.
func (s Store) IssueClient(caName, name, cn string, p12 *P12Options, opts ...Option) (*Leaf, []Written, error) {
	return s.issueLeaf("issue client", caName, name, p12, func(ca *CA) (*Leaf, error) {
		return ca.IssueClient(cn, opts...)
	})
}

func (s Store) issueLeaf(verb, caName, name string, p12 *P12Options, issue func(*CA) (*Leaf, error)) (*Leaf, []Written, error) {
	if err := checkName(name); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", verb, err)
	}
	targets := []string{s.path(name, ".pem"), s.path(name, ".key"), s.path(name, "-chain.pem")}
	if p12 != nil {
		targets = append(targets, s.path(name, ".p12"))
	}
	if err := s.plan(targets...); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", verb, err)
	}
	ca, err := s.LoadCA(caName)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", verb, err)
	}
	l, err := issue(ca)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", verb, err)
	}
	var w []Written
	steps := []struct {
		path, what string
		write      func(string) error
	}{
		{targets[1], "private key (PKCS#8, 0600)", func(p string) error { return WriteKeyPEM(p, l.Key) }},
		{targets[0], describe(l.Cert), func(p string) error { return WriteCertsPEM(p, l.Cert) }},
		{targets[2], "certificate chain without the root (for TLS clients/servers)", func(p string) error { return WriteCertsPEM(p, l.Chain()...) }},
	}
	if p12 != nil {
		steps = append(steps, struct {
			path, what string
			write      func(string) error
		}{targets[3], "PKCS#12 (key + chain, 0600)", func(p string) error { return WritePKCS12(p, l, p12.Password, p12.IncludeRoot) }})
	}
	for _, st := range steps {
		if err := st.write(st.path); err != nil {
			return nil, w, fmt.Errorf("%s: %w", verb, err)
		}
		w = append(w, Written{st.path, st.what})
	}
	return l, w, nil
}

// ResolveRevoke turns a --revoke argument into a CRL entry for ca: a path
// to a PEM certificate, a certificate NAME in the store (NAME.pem), or a
// serial number (see ParseSerial). A certificate not issued by ca is an
// error: it would sit in the CRL and never match.
func (s Store) ResolveRevoke(ca *CA, arg string) (Revoked, error) {
	var certPath string
	for _, p := range []string{arg, s.path(arg, ".pem")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			certPath = p
			break
		}
	}
	if certPath == "" {
		n, err := ParseSerial(arg)
		if err != nil {
			return Revoked{}, fmt.Errorf("revoke %q: not a certificate file, a name in %s, or a serial: %w", arg, s.Dir, err)
		}
		return Revoked{Serial: n}, nil
	}
	certs, err := ReadCertsPEM(certPath)
	if err != nil {
		return Revoked{}, fmt.Errorf("revoke %q: %w", arg, err)
	}
	c := certs[0]
	if !bytes.Equal(c.RawIssuer, ca.Cert.RawSubject) || c.CheckSignatureFrom(ca.Cert) != nil {
		return Revoked{}, fmt.Errorf("revoke %s: certificate %q was issued by %q, not by CA %q",
			certPath, c.Subject.String(), c.Issuer.String(), ca.Cert.Subject.String())
	}
	return Revoked{Serial: c.SerialNumber}, nil
}

// CRLRequest is what `certgate pki crl` asks for.
type CRLRequest struct {
	CA     string   // store name of the issuing CA
	Revoke []string // certificate files, store names or serials (see ResolveRevoke)
	Reason int      // reason code applied to every entry
	Out    string   // output path; DER, or PEM if it ends in .pem; default DIR/CA.crl
	// Options.Number 0 means one more than the number recorded in
	// DIR/CA.crlnumber, so successive CRLs increase as RFC 5280 section
	// 5.2.3 requires.
	Options CRLOptions
}

// CRL issues and writes a CRL, and records its number.
func (s Store) CRL(r CRLRequest) (*x509.RevocationList, []Written, error) {
	caName, o, out := r.CA, r.Options, r.Out
	ca, err := s.LoadCA(caName)
	if err != nil {
		return nil, nil, fmt.Errorf("create crl: %w", err)
	}
	numPath, dbPath := s.path(caName, ".crlnumber"), s.path(caName, ".revoked")
	if o.Number == 0 {
		last, err := readCRLNumber(numPath)
		if err != nil {
			return nil, nil, fmt.Errorf("create crl: %w", err)
		}
		o.Number = last + 1
	}
	// A CA's revocations are permanent (RFC 5280 section 3.3): the next
	// CRL lists the earlier ones too, so they are kept in NAME.revoked.
	db, err := readRevokedDB(dbPath)
	if err != nil {
		return nil, nil, fmt.Errorf("create crl: %w", err)
	}
	for _, arg := range r.Revoke {
		e, err := s.ResolveRevoke(ca, arg)
		if err != nil {
			return nil, nil, fmt.Errorf("create crl: %w", err)
		}
		e.Reason = r.Reason
		if e.At.IsZero() {
			// Recorded now, so that later CRLs keep the same date.
			e.At = time.Now().UTC().Truncate(time.Second)
		}
		db = db.add(e, o.Number)
	}
	var entries []Revoked
	for _, e := range db {
		// A delta CRL lists what changed since its base (RFC 5280
		// section 5.2.4); a full CRL lists everything.
		if !o.Delta || e.number > o.BaseNumber {
			entries = append(entries, e.Revoked)
		}
	}
	base := s.path(caName, ".crl")
	if out == "" {
		out = base
		if o.Delta {
			out = s.path(caName, "-delta.crl")
		}
	}
	if o.Delta {
		if err := refuseOverwriteBase(out); err != nil {
			return nil, nil, fmt.Errorf("create delta crl: %w", err)
		}
	}
	der, err := ca.CRL(entries, o)
	if err != nil {
		return nil, nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, nil, fmt.Errorf("create crl: parse result: %w", err)
	}
	if err := WriteCRL(out, der); err != nil {
		return nil, nil, fmt.Errorf("create crl: %w", err)
	}
	w := []Written{{out, fmt.Sprintf("CRL number %d, %d revoked, next update %s", o.Number, len(entries), crl.NextUpdate.Format("2006-01-02T15:04:05Z07:00"))}}
	if err := writeFile(numPath, []byte(strconv.FormatInt(o.Number, 10)+"\n"), certFileMode); err != nil {
		return crl, w, fmt.Errorf("create crl: %w", err)
	}
	w = append(w, Written{numPath, "last CRL number"})
	if err := writeFile(dbPath, db.encode(), certFileMode); err != nil {
		return crl, w, fmt.Errorf("create crl: %w", err)
	}
	return crl, append(w, Written{dbPath, fmt.Sprintf("%d revocation(s) of %s", len(db), caName)}), nil
}

// refuseOverwriteBase fails when path holds a full CRL: a delta CRL
// written over its base would leave relying parties without the base.
func refuseOverwriteBase(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil // nothing there (or unreadable: the write reports it)
	}
	if b, _ := pem.Decode(data); b != nil {
		data = b.Bytes
	}
	crl, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil
	}
	if _, isDelta, _ := DeltaCRLBase(crl); !isDelta {
		return fmt.Errorf("%s holds the base CRL (number %v); write the delta CRL to another file with --out", path, crl.Number)
	}
	return nil
}

// revokedEntry is one line of NAME.revoked.
type revokedEntry struct {
	Revoked
	number int64 // the first CRL that listed it
}

type revokedDB []revokedEntry

// add records e unless its serial is already revoked (the first
// revocation date and reason stand).
func (db revokedDB) add(e Revoked, number int64) revokedDB {
	for _, have := range db {
		if have.Serial.Cmp(e.Serial) == 0 {
			return db
		}
	}
	return append(db, revokedEntry{Revoked: e, number: number})
}

// encode writes one line per entry: serial (hex), revocation time (RFC
// 3339), reason code, CRL number.
func (db revokedDB) encode() []byte {
	var b bytes.Buffer
	b.WriteString("# serial(hex) revoked-at reason first-crl-number; written by certgate pki crl\n")
	for _, e := range db {
		fmt.Fprintf(&b, "%s %s %d %d\n", e.Serial.Text(16), e.At.UTC().Format(time.RFC3339), e.Reason, e.number)
	}
	return b.Bytes()
}

func readRevokedDB(path string) (revokedDB, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read revocations: %w", err)
	}
	var db revokedDB
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := fmt.Errorf("read revocations %s: line %d: %w: want \"serial-hex RFC3339-time reason crl-number\" (got %q)", path, i+1, ErrInvalidOption, line)
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, bad
		}
		serial, ok := new(big.Int).SetString(f[0], 16)
		at, terr := time.Parse(time.RFC3339, f[1])
		reason, rerr := strconv.Atoi(f[2])
		number, nerr := strconv.ParseInt(f[3], 10, 64)
		if !ok || terr != nil || rerr != nil || nerr != nil {
			return nil, bad
		}
		db = append(db, revokedEntry{Revoked: Revoked{Serial: serial, At: at, Reason: reason}, number: number})
	}
	return db, nil
}

func readCRLNumber(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read crl number: %w", err)
	}
	n, ok := new(big.Int).SetString(strings.TrimSpace(string(data)), 10)
	if !ok || !n.IsInt64() || n.Sign() < 0 {
		return 0, fmt.Errorf("read crl number %s: %w: %q is not a non-negative integer", path, ErrInvalidOption, strings.TrimSpace(string(data)))
	}
	return n.Int64(), nil
}
