package certfile

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certgate/certgate/internal/pki"
)

// encryptPKCS8 writes key as an "ENCRYPTED PRIVATE KEY" with PBES2
// (PBKDF2-HMAC-SHA256, AES-256-CBC), the layout of `openssl pkey -aes256`.
func encryptPKCS8(t testing.TB, key crypto.Signer, password string, rounds int) []byte {
	t.Helper()
	plain, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	salt, iv := make([]byte, 16), make([]byte, 16)
	rand.Read(salt)
	rand.Read(iv)
	// An iteration count above the decryptor's bound is only declared:
	// deriving with it would make the test as slow as the attack.
	derive := rounds
	if derive > maxPBKDF2Rounds {
		derive = 1
	}
	k, err := pbkdf2.Key(sha256.New, password, salt, derive, 32)
	if err != nil {
		t.Fatal(err)
	}
	n := 16 - len(plain)%16
	plain = append(plain, bytes.Repeat([]byte{byte(n)}, n)...)
	block, _ := aes.NewCipher(k)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	must := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kdf := must(asn1.Marshal(pbkdf2Params{Salt: salt, Rounds: rounds, PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}}))
	ivDER := must(asn1.Marshal(iv))
	params := must(asn1.Marshal(pbes2Params{
		KDF:    pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
		Scheme: pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
	}))
	der := must(asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		Data:      ct,
	}))
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
}

func TestLoadKeyPairPassword(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	chain := write(t, dir, "server.pem", certPEM(f.server.Cert, f.inter.Cert))
	enc := write(t, dir, "enc.key", encryptPKCS8(t, f.server.Key, "s3cret pass", 2048))
	plain := write(t, dir, "plain.key", pkcs8PEM(t, f.server.Key))
	hostile := write(t, dir, "rounds.key", encryptPKCS8(t, f.server.Key, "x", maxPBKDF2Rounds+1))
	for _, tc := range []struct {
		name, key string
		password  []byte
		err       error
		msg       string
	}{
		{name: "right password", key: enc, password: []byte("s3cret pass")},
		{name: "wrong password", key: enc, password: []byte("s3cret"), err: ErrWrongPassword, msg: "decrypt key " + enc + ": block 1: wrong password"},
		{name: "empty password", key: enc, password: []byte{}, err: ErrWrongPassword},
		{name: "no password", key: enc, err: ErrEncryptedKey, msg: "certificate.password_file"},
		{name: "plain key with a password", key: plain, password: []byte("unused")},
		{name: "hostile iteration count", key: hostile, password: []byte("x"), msg: "iteration count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadKeyPairPassword(chain, tc.key, tc.password)
			if tc.err == nil && tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(c.Certificate) != 2 || !keyMatches(c.Leaf, c.PrivateKey.(crypto.Signer)) {
					t.Fatalf("loaded %d certificates, key matches: %v", len(c.Certificate), c.Leaf != nil)
				}
				return
			}
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestLoadPFX(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	pfx, err := pki.EncodePKCS12(f.server, "pfx pass", true)
	if err != nil {
		t.Fatal(err)
	}
	path := write(t, dir, "site.pfx", pfx)
	c, err := LoadPFX(path, []byte("pfx pass"))
	if err != nil {
		t.Fatal(err)
	}
	// The root in the file is not sent; leaf and intermediate are.
	if len(c.Certificate) != 2 || !bytes.Equal(c.Certificate[0], f.server.Cert.Raw) || !bytes.Equal(c.Certificate[1], f.inter.Cert.Raw) {
		t.Errorf("chain has %d certificates, want leaf and intermediate", len(c.Certificate))
	}
	if _, err := LoadPFX(path, []byte("wrong")); !errors.Is(err, ErrWrongPassword) || !strings.Contains(err.Error(), path) {
		t.Errorf("wrong password: %v, want %v naming %s", err, ErrWrongPassword, path)
	}
	if _, err := LoadPFX(write(t, dir, "notpfx.pfx", pkcs8PEM(t, f.server.Key)), nil); err == nil || errors.Is(err, ErrWrongPassword) {
		t.Errorf("a PEM file as PFX: %v, want a format error", err)
	}
	if _, err := LoadPFX(filepath.Join(dir, "missing.pfx"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestOpenSSLProtectedFiles reads what OpenSSL writes: PKCS#8 keys with
// several ciphers and PRFs, legacy "Proc-Type: 4,ENCRYPTED" keys, and PFX
// files in the current (AES) and -legacy (3DES/RC2) encodings.
func TestOpenSSLProtectedFiles(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("openssl not installed")
		}
		t.Fatal("openssl not installed")
	}
	f := newFixture(t)
	dir := t.TempDir()
	chain := write(t, dir, "server.pem", certPEM(f.server.Cert, f.inter.Cert))
	plain := write(t, dir, "plain.key", pkcs8PEM(t, f.server.Key))
	run := func(args ...string) error {
		out, err := exec.Command("openssl", args...).CombinedOutput()
		if err != nil {
			t.Logf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return err
	}
	keys := map[string][]string{
		"pkcs8-aes256-sha256": {"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA256"},
		"pkcs8-aes128-sha1":   {"pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"},
		"pkcs8-des3-sha512":   {"pkcs8", "-topk8", "-v2", "des3", "-v2prf", "hmacWithSHA512"},
		"legacy-aes256":       {"pkey", "-aes256", "-traditional"},
	}
	for name, args := range keys {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, name+".key")
			a := append(append([]string{}, args...), "-in", plain, "-out", out, "-passout", "pass:open sesame")
			if err := run(a...); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadKeyPairPassword(chain, out, []byte("open sesame")); err != nil {
				t.Fatalf("right password: %v", err)
			}
			if _, err := LoadKeyPairPassword(chain, out, []byte("open sesame!")); !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("wrong password: %v, want %v", err, ErrWrongPassword)
			}
		})
	}
	for name, extra := range map[string][]string{"pfx-default": nil, "pfx-legacy": {"-legacy"}} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, name+".pfx")
			a := append([]string{"pkcs12", "-export", "-in", chain, "-inkey", plain, "-out", out, "-passout", "pass:pfx pw"}, extra...)
			if err := run(a...); err != nil {
				if extra != nil {
					t.Skip("this openssl has no legacy provider")
				}
				t.Fatal(err)
			}
			c, err := LoadPFX(out, []byte("pfx pw"))
			if err != nil {
				t.Fatalf("right password: %v", err)
			}
			if len(c.Certificate) != 2 {
				t.Errorf("%d certificates, want leaf and intermediate", len(c.Certificate))
			}
			if _, err := LoadPFX(out, []byte("nope")); !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("wrong password: %v, want %v", err, ErrWrongPassword)
			}
		})
	}
}

// FuzzDecryptPKCS8 feeds arbitrary EncryptedPrivateKeyInfo bytes (with a
// bounded iteration count in the seeds) through the decryptor: an error or
// a DER SEQUENCE, never a panic.
func FuzzDecryptPKCS8(f *testing.F) {
	fx := newFixture(f)
	b, _ := pem.Decode(encryptPKCS8(f, fx.server.Key, "pw", 1))
	f.Add(b.Bytes, []byte("pw"))
	f.Add(b.Bytes, []byte("wrong"))
	f.Add([]byte{0x30, 0x00}, []byte{})
	f.Fuzz(func(t *testing.T, der, password []byte) {
		out, err := DecryptPKCS8(der, password)
		if err == nil && (len(out) == 0 || out[0] != 0x30) {
			t.Fatalf("no error and %x", out)
		}
	})
}
