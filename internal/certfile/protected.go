package certfile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"

	"software.sslmate.com/src/go-pkcs12"
)

// ReadPasswordFile reads a password kept in a file (certificate.password_file).
// One trailing line ending is removed, since `echo secret > file` and editors
// add one; anything else, spaces included, is part of the password.
func ReadPasswordFile(path string) ([]byte, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	return data, nil
}

// LoadKeyPairPassword is LoadKeyPair for a private key file that may be
// encrypted: PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2, what `openssl pkey
// -aes256` writes) or the legacy OpenSSL "Proc-Type: 4,ENCRYPTED" PEM. An
// unencrypted key is read as it is; the password is then unused.
func LoadKeyPairPassword(certPath, keyPath string, password []byte) (tls.Certificate, error) {
	return loadKeyPair(certPath, keyPath, password)
}

// LoadPFX loads a server certificate, its chain and its private key from a
// PKCS#12 (PFX) file, as Windows and IIS export them. A self-signed root in
// the file is not sent: clients must already trust it (RFC 8446 section
// 4.4.2 allows leaving it out) and it only adds bytes to every handshake.
func LoadPFX(path string, password []byte) (tls.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, string(password))
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
			return tls.Certificate{}, fmt.Errorf("load pfx %s: %w", path, ErrWrongPassword)
		}
		return tls.Certificate{}, fmt.Errorf("load pfx %s: %w (want a PKCS#12 file with the server certificate and its private key)", path, err)
	}
	s, err := signer(path, 0, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if !keyMatches(leaf, s) {
		return tls.Certificate{}, fmt.Errorf("load pfx %s: %w %q", path, ErrKeyMismatch, leaf.Subject.String())
	}
	out := tls.Certificate{PrivateKey: s, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range cas {
		if bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil {
			continue
		}
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}

// decryptKeyBlock returns the DER of an encrypted PEM private key block.
func decryptKeyBlock(b *pem.Block, password []byte) ([]byte, error) {
	if b.Type == "ENCRYPTED PRIVATE KEY" {
		return DecryptPKCS8(b.Bytes, password)
	}
	//lint:ignore SA1019 legacy OpenSSL key files are still what many servers hold; reading a local file is not the padding-oracle setting the deprecation is about.
	der, err := x509.DecryptPEMBlock(b, password)
	if err != nil {
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, ErrWrongPassword
		}
		return nil, err
	}
	return der, nil
}

// Object identifiers of PKCS#5 v2.1 (RFC 8018) and the ciphers it uses.
var (
	oidPBES2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC   = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	maxPBKDF2Rounds = 10_000_000 // far above any tool's default; bounds the work a hostile file can ask for
)

type encryptedPrivateKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt      []byte
	Rounds    int
	KeyLength int                      `asn1:"optional"`
	PRF       pkix.AlgorithmIdentifier `asn1:"optional"`
}

// DecryptPKCS8 decrypts an EncryptedPrivateKeyInfo (RFC 5958 section 3)
// protected with PBES2 (PBKDF2 with HMAC-SHA1/SHA-2, AES-CBC or 3DES-CBC),
// which covers what OpenSSL 1.1+, Java keytool and Windows write. It returns
// the PKCS#8 PrivateKeyInfo DER. A padding or structure error after
// decryption is reported as ErrWrongPassword: with CBC that is what a wrong
// password looks like.
func DecryptPKCS8(der, password []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed EncryptedPrivateKeyInfo")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("%w: encryption %v is not PBES2; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", ErrUnsupportedKey, info.Algorithm.Algorithm)
	}
	var params pbes2Params
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed PBES2 parameters")
	}
	if !params.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: key derivation %v is not PBKDF2", ErrUnsupportedKey, params.KDF.Algorithm)
	}
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed PBKDF2 parameters")
	}
	if kdf.Rounds < 1 || kdf.Rounds > maxPBKDF2Rounds {
		return nil, fmt.Errorf("PBKDF2 iteration count %d is outside 1..%d", kdf.Rounds, maxPBKDF2Rounds)
	}
	var h func() hash.Hash
	switch prf := kdf.PRF.Algorithm; {
	case len(prf) == 0 || prf.Equal(oidHMACSHA1):
		h = sha1.New
	case prf.Equal(oidHMACSHA224):
		h = sha256.New224
	case prf.Equal(oidHMACSHA256):
		h = sha256.New
	case prf.Equal(oidHMACSHA384):
		h = sha512.New384
	case prf.Equal(oidHMACSHA512):
		h = sha512.New
	default:
		return nil, fmt.Errorf("%w: PBKDF2 PRF %v", ErrUnsupportedKey, prf)
	}
	var (
		keyLen   int
		newBlock func([]byte) (cipher.Block, error)
	)
	switch alg := params.Scheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen, newBlock = 16, aes.NewCipher
	case alg.Equal(oidAES192CBC):
		keyLen, newBlock = 24, aes.NewCipher
	case alg.Equal(oidAES256CBC):
		keyLen, newBlock = 32, aes.NewCipher
	case alg.Equal(oidDESEDE3CBC):
		keyLen, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, fmt.Errorf("%w: cipher %v; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`", ErrUnsupportedKey, alg)
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, fmt.Errorf("PBKDF2 key length %d does not fit the cipher (%d bytes)", kdf.KeyLength, keyLen)
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(params.Scheme.Parameters.FullBytes, &iv); err != nil || len(rest) > 0 {
		return nil, errors.New("malformed cipher IV")
	}
	key, err := pbkdf2.Key(h, string(password), kdf.Salt, kdf.Rounds, keyLen)
	if err != nil {
		return nil, err
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(iv) != bs || len(info.Data) == 0 || len(info.Data)%bs != 0 {
		return nil, errors.New("malformed encrypted key: IV or data length does not fit the cipher")
	}
	out := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.Data)
	// PKCS#7 padding (RFC 8018 section 6.1.1 step 4), checked in full.
	n := int(out[len(out)-1])
	if n == 0 || n > bs || !hmac.Equal(out[len(out)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		return nil, ErrWrongPassword
	}
	out = out[:len(out)-n]
	// Right padding by chance (about 1 in 256) but not a DER SEQUENCE is
	// a wrong password too; a key type certgate cannot use is reported
	// later by the key parser, with its name.
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(out, &seq); err != nil || len(rest) > 0 || seq.Tag != asn1.TagSequence {
		return nil, ErrWrongPassword
	}
	return out, nil
}
