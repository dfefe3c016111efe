package certfile

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
)

// fixture is a small PKI built at test time.
type fixture struct {
	root, inter     *pki.CA
	server, server2 *pki.Leaf
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	root, err := pki.NewRoot("Test Root")
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate("Test Issuing CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := inter.IssueServer("intranet.example.test", []string{"intranet.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	server2, err := inter.IssueServer("other.example.test", []string{"other.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{root: root, inter: inter, server: server, server2: server2}
}

func certPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

func pkcs8PEM(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func write(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func subjects(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestLoadCertificates(t *testing.T) {
	f := newFixture(t)
	root, inter, leaf := f.root.Cert, f.inter.Cert, f.server.Cert
	keyPEM := pkcs8PEM(t, f.server.Key)
	goodBlock := certPEM(root)
	badBase64 := []byte("-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n")
	badDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})

	tests := []struct {
		name  string
		files map[string][]byte // relative to a temp dir; "d/" entries make directories
		paths []string          // relative to the temp dir
		want  []string          // CommonNames in order
		err   error             // errors.Is target
		msg   []string          // substrings of the error; "$DIR" is the temp dir
	}{
		{
			name:  "one PEM certificate",
			files: map[string][]byte{"ca.pem": certPEM(root)},
			paths: []string{"ca.pem"},
			want:  []string{"Test Root"},
		},
		{
			name:  "bundle keeps file order",
			files: map[string][]byte{"bundle.pem": certPEM(inter, root, leaf)},
			paths: []string{"bundle.pem"},
			want:  []string{"Test Issuing CA", "Test Root", "intranet.example.test"},
		},
		{
			name:  "key blocks are skipped",
			files: map[string][]byte{"combined.pem": cat(keyPEM, certPEM(leaf))},
			paths: []string{"combined.pem"},
			want:  []string{"intranet.example.test"},
		},
		{
			name:  "text around PEM blocks is ignored",
			files: map[string][]byte{"ca.pem": cat([]byte("subject=CN = Test Root\n"), certPEM(root), []byte("# end\n"))},
			paths: []string{"ca.pem"},
			want:  []string{"Test Root"},
		},
		{
			name:  "DER certificate",
			files: map[string][]byte{"root.cer": root.Raw},
			paths: []string{"root.cer"},
			want:  []string{"Test Root"},
		},
		{
			name:  "concatenated DER certificates",
			files: map[string][]byte{"chain.der": cat(inter.Raw, root.Raw)},
			paths: []string{"chain.der"},
			want:  []string{"Test Issuing CA", "Test Root"},
		},
		{
			name: "directory sorted by file name, other files ignored",
			files: map[string][]byte{
				"cas/b.pem":         certPEM(inter),
				"cas/a.crt":         certPEM(root),
				"cas/c.CER":         leaf.Raw,
				"cas/README.txt":    []byte("not a certificate"),
				"cas/key.key":       keyPEM,
				"cas/sub/z.pem":     certPEM(leaf),
				"cas/sub/other.pem": []byte("garbage"),
			},
			paths: []string{"cas"},
			want:  []string{"Test Root", "Test Issuing CA", "intranet.example.test"},
		},
		{
			name:  "paths in the order given",
			files: map[string][]byte{"x.pem": certPEM(leaf), "a.pem": certPEM(root)},
			paths: []string{"x.pem", "a.pem"},
			want:  []string{"intranet.example.test", "Test Root"},
		},
		{
			name:  "missing file",
			paths: []string{"ca.pem"},
			err:   fs.ErrNotExist,
			msg:   []string{"$DIR/ca.pem: no such file or directory"},
		},
		{
			name:  "empty file",
			files: map[string][]byte{"ca.pem": nil},
			paths: []string{"ca.pem"},
			err:   ErrEmptyFile,
			msg:   []string{"read $DIR/ca.pem: file is empty"},
		},
		{
			name:  "whitespace-only file",
			files: map[string][]byte{"ca.pem": []byte("\n  \n")},
			paths: []string{"ca.pem"},
			err:   ErrEmptyFile,
		},
		{
			name:  "key only",
			files: map[string][]byte{"ca.pem": keyPEM},
			paths: []string{"ca.pem"},
			err:   ErrNoCertificates,
			msg:   []string{"load $DIR/ca.pem: no certificates found (PEM blocks: PRIVATE KEY)"},
		},
		{
			name:  "bad base64 in block 2",
			files: map[string][]byte{"ca.pem": cat(goodBlock, badBase64, goodBlock)},
			paths: []string{"ca.pem"},
			err:   ErrMalformedPEM,
			msg:   []string{"parse $DIR/ca.pem: block 2: malformed PEM block"},
		},
		{
			name:  "missing END line",
			files: map[string][]byte{"ca.pem": goodBlock[:len(goodBlock)-30]},
			paths: []string{"ca.pem"},
			err:   ErrMalformedPEM,
			msg:   []string{"block 1"},
		},
		{
			name:  "bad DER in block 2",
			files: map[string][]byte{"ca.pem": cat(goodBlock, badDER)},
			paths: []string{"ca.pem"},
			msg:   []string{"parse $DIR/ca.pem: block 2: x509: "},
		},
		{
			name:  "text that is not PEM",
			files: map[string][]byte{"ca.pem": []byte("MIIB this is not a certificate\n")},
			paths: []string{"ca.pem"},
			msg:   []string{"parse $DIR/ca.pem: neither PEM (no -----BEGIN line) nor DER: x509: "},
		},
		{
			name:  "binary garbage",
			files: map[string][]byte{"ca.der": {0x30, 0x82, 0xff, 0xff, 0x00, 0x01}},
			paths: []string{"ca.der"},
			msg:   []string{"parse $DIR/ca.der: x509: "},
		},
		{
			name:  "OpenSSL TRUSTED CERTIFICATE",
			files: map[string][]byte{"ca.pem": pem.EncodeToMemory(&pem.Block{Type: "TRUSTED CERTIFICATE", Bytes: root.Raw})},
			paths: []string{"ca.pem"},
			msg:   []string{"block 1: TRUSTED CERTIFICATE (OpenSSL trust settings) is not supported"},
		},
		{
			name:  "directory without certificate files",
			files: map[string][]byte{"cas/README": []byte("x")},
			paths: []string{"cas"},
			err:   ErrNoCertificates,
			msg:   []string{"load certificates from directory $DIR/cas: no certificates found (no *.pem, *.crt, *.cer files)"},
		},
		{
			name:  "bad file in directory named",
			files: map[string][]byte{"cas/a.pem": certPEM(root), "cas/b.pem": keyPEM},
			paths: []string{"cas"},
			err:   ErrNoCertificates,
			msg:   []string{"load $DIR/cas/b.pem: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				write(t, dir, name, data)
			}
			var paths []string
			for _, p := range tt.paths {
				paths = append(paths, filepath.Join(dir, p))
			}
			certs, err := LoadCertificates(paths...)
			if tt.err == nil && tt.msg == nil {
				if err != nil {
					t.Fatalf("LoadCertificates: %v", err)
				}
				if got := subjects(certs); !slices.Equal(got, tt.want) {
					t.Fatalf("certificates = %q, want %q", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadCertificates = %q, want an error", subjects(certs))
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %q is not %v", err, tt.err)
			}
			for _, m := range tt.msg {
				if m = strings.ReplaceAll(m, "$DIR", dir); !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}

func TestReadPEMOrDER(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	tests := []struct {
		name  string
		data  []byte
		types []string
	}{
		{"DER is one untyped block", f.root.Cert.Raw, []string{""}},
		{"PEM blocks in order", cat(pkcs8PEM(t, f.server.Key), certPEM(f.server.Cert)), []string{"PRIVATE KEY", "CERTIFICATE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, dir, "f", tt.data)
			blocks, err := ReadPEMOrDER(p)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, b := range blocks {
				types = append(types, b.Type)
			}
			if !slices.Equal(types, tt.types) {
				t.Errorf("block types = %q, want %q", types, tt.types)
			}
			if tt.types[0] == "" && !bytes.Equal(blocks[0].Bytes, tt.data) {
				t.Error("DER block does not hold the whole file")
			}
		})
	}
}

func TestLoadKeyPair(t *testing.T) {
	f := newFixture(t)
	leaf, inter := f.server, f.inter.Cert
	rsaLeaf, err := f.inter.IssueServer("rsa.example.test", []string{"rsa.example.test"}, pki.WithKeyType(pki.KeyRSA2048))
	if err != nil {
		t.Fatal(err)
	}
	edLeaf, err := f.inter.IssueServer("ed.example.test", []string{"ed.example.test"}, pki.WithKeyType(pki.KeyEd25519))
	if err != nil {
		t.Fatal(err)
	}
	ecKey := leaf.Key.(*ecdsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8DER, err := x509.MarshalPKCS8PrivateKey(leaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaLeaf.Key.(*rsa.PrivateKey))
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519DER, err := x509.MarshalPKCS8PrivateKey(x25519)
	if err != nil {
		t.Fatal(err)
	}
	chain := certPEM(leaf.Cert, inter)

	tests := []struct {
		name      string
		cert, key []byte // key nil: the key is in the cert file
		certIsDir bool
		wantLeaf  string
		wantChain int
		err       error
		msg       string
	}{
		{name: "PKCS#8 ECDSA with chain", cert: chain, key: pkcs8PEM(t, leaf.Key), wantLeaf: "intranet.example.test", wantChain: 2},
		{name: "SEC 1 EC key", cert: chain, key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), wantLeaf: "intranet.example.test", wantChain: 2},
		{name: "EC PARAMETERS block skipped", cert: chain, key: cat(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})), wantLeaf: "intranet.example.test", wantChain: 2},
		{name: "PKCS#1 RSA key", cert: certPEM(rsaLeaf.Cert), key: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1}), wantLeaf: "rsa.example.test", wantChain: 1},
		{name: "mislabelled PKCS#1 in PRIVATE KEY block", cert: certPEM(rsaLeaf.Cert), key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs1}), wantLeaf: "rsa.example.test", wantChain: 1},
		{name: "Ed25519 key", cert: certPEM(edLeaf.Cert), key: pkcs8PEM(t, edLeaf.Key), wantLeaf: "ed.example.test", wantChain: 1},
		{name: "DER key and DER certificate", cert: leaf.Cert.Raw, key: pkcs8DER, wantLeaf: "intranet.example.test", wantChain: 1},
		{name: "key and chain in one file", cert: cat(pkcs8PEM(t, leaf.Key), chain), wantLeaf: "intranet.example.test", wantChain: 2},
		{name: "key of another certificate", cert: chain, key: pkcs8PEM(t, f.server2.Key), err: ErrKeyMismatch, msg: `private key does not match the certificate "CN=intranet.example.test" (the key is for another certificate)`},
		{name: "chain in the wrong order", cert: certPEM(inter, leaf.Cert), key: pkcs8PEM(t, leaf.Key), err: ErrKeyMismatch, msg: `the key belongs to certificate 2 of the file ("CN=intranet.example.test"); put the server certificate first`},
		{name: "encrypted PKCS#8", cert: chain, key: pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0x00}}), err: ErrEncryptedKey, msg: "block 1: encrypted private keys are not supported"},
		{name: "legacy encrypted PEM", cert: chain, key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}), err: ErrEncryptedKey},
		{name: "no key in key file", cert: chain, key: chain, err: ErrNoKey, msg: "(PEM blocks: CERTIFICATE, CERTIFICATE)"},
		{name: "two keys", cert: chain, key: cat(pkcs8PEM(t, leaf.Key), pkcs8PEM(t, f.server2.Key)), msg: "holds 2 private keys (blocks [1 2])"},
		{name: "X25519 key cannot sign", cert: chain, key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: x25519DER}), err: ErrUnsupportedKey, msg: "block 1: unsupported private key type *ecdh.PrivateKey"},
		{name: "garbage key block", cert: chain, key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}), msg: "block 1 (PRIVATE KEY): not a PKCS#8, PKCS#1 or SEC 1 private key"},
		{name: "garbage DER key", cert: chain, key: []byte{0x30, 0x01, 0x00}, err: ErrNoKey},
		{name: "empty key file", cert: chain, key: []byte{}, err: ErrEmptyFile},
		{name: "certificate path is a directory", certIsDir: true, key: pkcs8PEM(t, leaf.Key), msg: "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			certPath := filepath.Join(dir, "server.pem")
			if tt.certIsDir {
				write(t, dir, "server.pem/x.pem", certPEM(leaf.Cert))
			} else {
				write(t, dir, "server.pem", tt.cert)
			}
			keyPath := certPath
			if tt.key != nil {
				keyPath = write(t, dir, "server.key", tt.key)
			}
			got, err := LoadKeyPair(certPath, keyPath)
			if tt.err == nil && tt.msg == "" {
				if err != nil {
					t.Fatalf("LoadKeyPair: %v", err)
				}
				if got.Leaf.Subject.CommonName != tt.wantLeaf || len(got.Certificate) != tt.wantChain {
					t.Fatalf("leaf %q with %d certificates, want %q with %d", got.Leaf.Subject.CommonName, len(got.Certificate), tt.wantLeaf, tt.wantChain)
				}
				if !keyMatches(got.Leaf, got.PrivateKey.(crypto.Signer)) {
					t.Fatal("returned key does not match the leaf")
				}
				return
			}
			if err == nil {
				t.Fatal("LoadKeyPair succeeded, want an error")
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %q is not %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

// FuzzLoadCertificates feeds arbitrary bytes through the file parser: it
// must return certificates or an error, never panic, and never "succeed"
// with nothing loaded.
func FuzzLoadCertificates(f *testing.F) {
	fx := newFixture(f)
	f.Add(certPEM(fx.root.Cert, fx.inter.Cert))
	f.Add(fx.root.Cert.Raw)
	f.Add(pkcs8PEM(f, fx.server.Key))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN X"))
	f.Add([]byte{0x30, 0x82, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := parseCertificates("fuzz.pem", data)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificates")
		}
		if k, err := parsePrivateKey("fuzz.key", data, nil); err == nil && k == nil {
			t.Fatal("no error and no key")
		}
	})
}
