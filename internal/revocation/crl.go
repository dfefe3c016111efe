package revocation

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CRL is a parsed, indexed certificate revocation list (RFC 5280 section
// 5). It never materialises the list of entries: the DER is walked once and
// the serials go into a compact hash index (see index), which is what makes
// a CRL of a million entries cost a fraction of a second and tens of
// megabytes instead of x509.ParseRevocationList's seconds and hundreds.
//
// A CRL is immutable after parsing except for its signature memo, so it is
// shared between goroutines without locks on the lookup path.
type CRL struct {
	// RawIssuer is the DER issuer Name, compared byte for byte with the
	// certificate's RawIssuer and the CA's RawSubject.
	RawIssuer []byte
	Issuer    pkix.Name
	// ThisUpdate and NextUpdate; NextUpdate is zero when absent.
	ThisUpdate, NextUpdate time.Time
	// Number is the CRL number (nil when absent); BaseNumber is the Delta
	// CRL Indicator's base CRL number, non-nil only for a delta CRL.
	Number, BaseNumber *big.Int
	AuthorityKeyID     []byte
	// IDP is the Issuing Distribution Point (nil: a complete CRL for all
	// of the issuer's certificates and reasons).
	IDP *IssuingDistributionPoint
	// FreshestURIs are the URIs of the Freshest CRL extension: where the
	// delta CRLs for this base CRL are published.
	FreshestURIs       []string
	SignatureAlgorithm x509.SignatureAlgorithm

	rawIDP    []byte
	signature []byte
	desc      string // describe(), computed once
	// unusable is why a well-formed CRL must not be used (an unknown
	// critical extension, a signature with unused bits). Local files keep
	// such a CRL as a source that reports this reason for the certificates
	// it would cover, rather than failing the configuration.
	unusable error

	// mu guards tbs and failed. tbs (the signed bytes) is kept only until
	// a key verifies the signature: after that no other key can, and the
	// bytes (most of the CRL) can be freed.
	mu       sync.Mutex
	tbs      []byte
	failed   map[string]error
	verified atomic.Pointer[string] // RawSubjectPublicKeyInfo of the verifying key

	idx index
}

// Entry is one revoked certificate of a CRL.
type Entry struct {
	RevokedAt time.Time
	// ReasonCode is the RFC 5280 CRLReason (0 unspecified when absent).
	ReasonCode int
	HasReason  bool
}

// Len is the number of entries.
func (c *CRL) Len() int { return c.idx.len() }

// IsDelta reports whether the CRL carries a Delta CRL Indicator.
func (c *CRL) IsDelta() bool { return c.BaseNumber != nil }

// IndexBytes is the memory held by the entry index.
func (c *CRL) IndexBytes() int { return c.idx.bytes() }

// Lookup reports whether serial (the big-endian two's-complement content of
// the serial INTEGER, as in DER) is listed. For indirect CRLs it only finds
// entries of the CRL issuer itself; use LookupCertificate. It does not
// allocate.
func (c *CRL) Lookup(serial []byte) (Entry, bool) {
	return c.lookup(normalizeSerial(serial), c.RawIssuer)
}

// LookupSerial is Lookup for a serial given as a number (it allocates).
func (c *CRL) LookupSerial(n *big.Int) (Entry, bool) {
	if n == nil {
		return Entry{}, false
	}
	b := n.Bytes()
	if n.Sign() >= 0 {
		b = append([]byte{0}, b...) // the sign octet a DER INTEGER would carry
	} else {
		der, err := asn1.Marshal(n)
		if err != nil || len(der) < 2 {
			return Entry{}, false
		}
		b = der[2:]
	}
	return c.Lookup(b)
}

// LookupCertificate reports whether cert is listed. It does not allocate.
func (c *CRL) LookupCertificate(cert *x509.Certificate) (Entry, bool) {
	serial, ok := certSerial(cert)
	if !ok {
		return Entry{}, false
	}
	return c.lookup(serial, cert.RawIssuer)
}

func (c *CRL) lookup(serial, issuer []byte) (Entry, bool) {
	i, ok := c.idx.find(serial, issuer)
	if !ok {
		return Entry{}, false
	}
	e := Entry{RevokedAt: time.Unix(c.idx.when[i], 0).UTC()}
	if r := c.idx.reason[i]; r != reasonAbsent {
		e.ReasonCode, e.HasReason = int(r), true
	}
	return e, true
}

// decodePEMorDER returns the DER of the first CRL in data, which may be DER
// or PEM ("X509 CRL").
func decodePEMorDER(data []byte) ([]byte, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		return data, nil
	}
	rest := trimmed
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, fmt.Errorf("%w: PEM without an X509 CRL block", ErrMalformedCRL)
		}
		if blk.Type == "X509 CRL" || blk.Type == "CRL" {
			return blk.Bytes, nil
		}
	}
}

// ParseCRL parses a DER or PEM CRL and indexes its entries. With a non-nil
// issuer it also verifies the signature (concurrently with the entry walk)
// and fails unless issuer signed the CRL; with nil, call CheckSignatureFrom
// before trusting it.
//
// Unknown critical extensions, of the CRL or of an entry, make the CRL
// unusable (RFC 5280 sections 5.2 and 5.3) and fail the parse.
func ParseCRL(data []byte, issuer *x509.Certificate) (*CRL, error) {
	return parseCRLPaced(data, issuer, nil)
}

// parseCRLPaced is ParseCRL with the work spread by p (nil: not paced).
func parseCRLPaced(data []byte, issuer *x509.Certificate, p *pacer) (*CRL, error) {
	c, err := parseCRL(data, issuer, p)
	if err != nil {
		return nil, err
	}
	if c.unusable != nil {
		return nil, c.unusable
	}
	return c, nil
}

// parseCRL is parseCRLPaced that returns a well-formed but unusable CRL
// with its unusable reason set instead of failing.
func parseCRL(data []byte, issuer *x509.Certificate, p *pacer) (*CRL, error) {
	der, err := decodePEMorDER(data)
	if err != nil {
		return nil, err
	}
	c, entries, err := parseHeader(der)
	if err != nil {
		return nil, err
	}
	var sigErr chan error
	if issuer != nil && c.unusable == nil {
		if err := checkIssuerMayVerify(c, issuer, true); err != nil {
			return nil, err
		}
		sigErr = make(chan error, 1)
		if p != nil {
			// Paced: one goroutine, so that the duty cycle holds for the
			// whole parse.
			sigErr <- checkCRLSignature(c, issuer, p)
		} else {
			// The hash of the TBS (tens of MB for a big CRL) runs on
			// another core while this one walks the entries.
			go func() { sigErr <- checkCRLSignature(c, issuer, nil) }()
		}
	}
	walkErr := c.walkEntries(entries, p)
	if sigErr != nil {
		if err := <-sigErr; err != nil {
			return nil, err
		}
		c.markVerified(issuer)
	}
	if walkErr != nil {
		return nil, walkErr
	}
	c.desc = c.describe()
	return c, nil
}

// parseHeader reads the TBSCertList fields around the revoked certificates.
// The entries are returned unparsed. The header fields themselves are parsed
// by crypto/x509 (one X.509 parser for names, times, AKI, CRL number and the
// signature algorithm) on a copy of the CRL from which the entries have been
// cut: a few hundred bytes, whatever the size of the CRL.
func parseHeader(der []byte) (*CRL, cryptobyte.String, error) {
	input := cryptobyte.String(der)
	var certList cryptobyte.String
	if !input.ReadASN1(&certList, cbasn1.SEQUENCE) {
		return nil, nil, fmt.Errorf("%w: not a DER SEQUENCE", ErrMalformedCRL)
	}
	if !input.Empty() {
		return nil, nil, fmt.Errorf("%w: trailing data after the CRL", ErrMalformedCRL)
	}
	var tbsEl, outerAI cryptobyte.String
	var sig asn1.BitString
	if !certList.ReadASN1Element(&tbsEl, cbasn1.SEQUENCE) ||
		!certList.ReadASN1Element(&outerAI, cbasn1.SEQUENCE) ||
		!certList.ReadASN1BitString(&sig) || !certList.Empty() {
		return nil, nil, fmt.Errorf("%w: CertificateList structure", ErrMalformedCRL)
	}
	tbs := tbsEl
	var body cryptobyte.String
	if !tbs.ReadASN1(&body, cbasn1.SEQUENCE) {
		return nil, nil, fmt.Errorf("%w: tbsCertList", ErrMalformedCRL)
	}
	version := 0 // v1: the field is absent
	if body.PeekASN1Tag(cbasn1.INTEGER) {
		if !body.ReadASN1Integer(&version) || version != 1 {
			return nil, nil, fmt.Errorf("%w: unsupported version %d", ErrMalformedCRL, version+1)
		}
	}
	var ai, issuer, thisUpd, nextUpd, entries, exts cryptobyte.String
	var tag cbasn1.Tag
	if !body.ReadASN1Element(&ai, cbasn1.SEQUENCE) ||
		!body.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!body.ReadAnyASN1Element(&thisUpd, &tag) || (tag != cbasn1.UTCTime && tag != cbasn1.GeneralizedTime) {
		return nil, nil, fmt.Errorf("%w: signature, issuer or thisUpdate", ErrMalformedCRL)
	}
	if (body.PeekASN1Tag(cbasn1.UTCTime) || body.PeekASN1Tag(cbasn1.GeneralizedTime)) && !body.ReadAnyASN1Element(&nextUpd, &tag) {
		return nil, nil, fmt.Errorf("%w: nextUpdate", ErrMalformedCRL)
	}
	if body.PeekASN1Tag(cbasn1.SEQUENCE) && !body.ReadASN1(&entries, cbasn1.SEQUENCE) {
		return nil, nil, fmt.Errorf("%w: revokedCertificates", ErrMalformedCRL)
	}
	extTag := cbasn1.Tag(0).Constructed().ContextSpecific()
	if body.PeekASN1Tag(extTag) && !body.ReadASN1Element(&exts, extTag) {
		return nil, nil, fmt.Errorf("%w: crlExtensions", ErrMalformedCRL)
	}
	if !body.Empty() {
		return nil, nil, fmt.Errorf("%w: unexpected data in tbsCertList", ErrMalformedCRL)
	}
	if version == 0 && len(exts) > 0 {
		return nil, nil, fmt.Errorf("%w: v1 CRL with extensions", ErrMalformedCRL)
	}

	var sigUnusable error
	if sig.BitLength%8 != 0 {
		sigUnusable = fmt.Errorf("%w: the signature BIT STRING has %d unused bits", ErrCRLSignature, 8-sig.BitLength%8)
	}
	// The entry-less copy, always v2 so that crypto/x509 accepts v1 CRLs.
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1)
			b.AddBytes(ai)
			b.AddBytes(issuer)
			b.AddBytes(thisUpd)
			b.AddBytes(nextUpd)
			b.AddBytes(exts)
		})
		b.AddBytes(outerAI)
		b.AddASN1BitString(sig.Bytes)
	})
	stripped, err := b.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformedCRL, err)
	}
	rl, err := x509.ParseRevocationList(stripped)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformedCRL, err)
	}
	c := &CRL{
		RawIssuer:          bytes.Clone(issuer),
		Issuer:             rl.Issuer,
		ThisUpdate:         rl.ThisUpdate,
		NextUpdate:         rl.NextUpdate,
		Number:             rl.Number,
		AuthorityKeyID:     rl.AuthorityKeyId,
		SignatureAlgorithm: rl.SignatureAlgorithm,
		signature:          rl.Signature,
		tbs:                tbsEl,
	}
	if err := c.parseExtensions(exts); err != nil {
		return nil, nil, err
	}
	if c.unusable == nil {
		c.unusable = sigUnusable
	}
	return c, entries, nil
}

// parseExtensions checks every CRL extension: the ones this package
// processes are decoded, unknown non-critical ones are ignored and unknown
// critical ones reject the CRL.
func (c *CRL) parseExtensions(exts cryptobyte.String) error {
	if len(exts) == 0 {
		c.markUnnumbered()
		return nil
	}
	var seq cryptobyte.String
	if !exts.ReadASN1(&exts, cbasn1.Tag(0).Constructed().ContextSpecific()) || !exts.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return fmt.Errorf("%w: crlExtensions", ErrMalformedCRL)
	}
	seen := map[string]bool{}
	for !seq.Empty() {
		oid, critical, val, err := readExtension(&seq)
		if err != nil {
			return err
		}
		if seen[string(oid)] {
			return fmt.Errorf("%w: extension %s appears twice", ErrMalformedCRL, oidString(oid))
		}
		seen[string(oid)] = true
		switch {
		case hasOID(oid, oidCRLNumber):
			// Parsed by crypto/x509. RFC 5280 5.2.3: the CRL number is
			// non-critical; a critical one is a CRL whose issuer does not
			// follow the profile, and is not used.
			if critical && c.unusable == nil {
				c.unusable = fmt.Errorf("%w: the CRL number extension is critical (RFC 5280 5.2.3 says non-critical)", ErrCRLNumber)
			}
		case hasOID(oid, oidAuthorityKeyID),
			hasOID(oid, oidIssuerAltName), hasOID(oid, oidAIA), hasOID(oid, oidExpiredCertsOnCRL):
			// Parsed by crypto/x509 (AKI, number) or informational.
		case hasOID(oid, oidDeltaCRLIndicator):
			n := new(big.Int)
			if !val.ReadASN1Integer(n) || !val.Empty() || n.Sign() < 0 {
				return fmt.Errorf("%w: delta CRL indicator", ErrMalformedCRL)
			}
			c.BaseNumber = n
		case hasOID(oid, oidIssuingDP):
			idp, err := parseIDP(val)
			if err != nil {
				return err
			}
			c.IDP, c.rawIDP = idp, bytes.Clone(val)
		case hasOID(oid, oidFreshestCRL):
			dps, err := parseDistPoints(val)
			if err != nil {
				return err
			}
			for _, dp := range dps {
				c.FreshestURIs = append(c.FreshestURIs, dp.uris...)
			}
		default:
			if critical && c.unusable == nil {
				c.unusable = fmt.Errorf("%w: %s", ErrCriticalExtension, oidString(oid))
			}
		}
	}
	if c.IDP != nil && c.IDP.OnlyUserCerts && c.IDP.OnlyCACerts {
		return fmt.Errorf("%w: issuing distribution point says both only user and only CA certificates", ErrMalformedCRL)
	}
	c.markUnnumbered()
	return nil
}

// markUnnumbered makes a CRL without a CRL number unusable. RFC 5280
// 5.2.3: conforming issuers MUST include it, and it is what orders CRLs
// and ties a delta CRL to its base; a CRL without one cannot be told
// apart from an older or a replayed one.
func (c *CRL) markUnnumbered() {
	if c.Number == nil && c.unusable == nil {
		c.unusable = fmt.Errorf("%w: the CRL has no CRL number (RFC 5280 5.2.3 requires one)", ErrCRLNumber)
	}
}

// readExtension reads one Extension without allocating.
func readExtension(s *cryptobyte.String) (oid []byte, critical bool, val cryptobyte.String, err error) {
	var ext, o cryptobyte.String
	if !s.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1(&o, cbasn1.OBJECT_IDENTIFIER) {
		return nil, false, nil, fmt.Errorf("%w: extension", ErrMalformedCRL)
	}
	if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) {
		return nil, false, nil, fmt.Errorf("%w: extension %s critical flag", ErrMalformedCRL, oidString(o))
	}
	if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !ext.Empty() {
		return nil, false, nil, fmt.Errorf("%w: extension %s value", ErrMalformedCRL, oidString(o))
	}
	return o, critical, val, nil
}

// walkEntries indexes revokedCertificates in two passes over the DER: the
// first counts entries and serial bytes so that the index is allocated once
// at its exact size (no append growth, so no transient 2x copies), the
// second fills it.
//
// The entry loop uses derTLV (positions, not sub-slices) rather than
// cryptobyte: cryptobyte returns each element through a *String, and with a
// million entries those pointer writes (write barriers while the GC runs)
// cost more than the parsing itself. Entry extensions, which are rare, still
// go through cryptobyte.
func (c *CRL) walkEntries(entries []byte, pace *pacer) error {
	n, serialBytes := 0, 0
	for p := 0; p < len(entries); n++ {
		if n%yieldEntries == yieldEntries-1 {
			pace.yield()
		}
		tag, cs, ce, ok := derTLV(entries, p, len(entries))
		if !ok || tag != tagSequence {
			return fmt.Errorf("%w: revoked certificate entry %d", ErrMalformedCRL, n)
		}
		tag, ss, se, ok := derTLV(entries, cs, ce)
		if !ok || tag != tagInteger || se == ss {
			return fmt.Errorf("%w: revoked certificate entry %d: serial number", ErrMalformedCRL, n)
		}
		serialBytes += se - ss
		p = ce
	}
	c.idx = newIndex(n, serialBytes)
	indirect := c.IDP != nil && c.IDP.Indirect
	var curIssuer uint16
	if indirect {
		c.idx.issuer = make([]uint16, 0, n)
		c.idx.issuers = [][]byte{c.RawIssuer}
	}
	for i, p := 0, 0; p < len(entries); i++ {
		if i%yieldEntries == yieldEntries-1 {
			pace.yield()
		}
		_, cs, ce, _ := derTLV(entries, p, len(entries))
		p = ce
		_, ss, se, _ := derTLV(entries, cs, ce)
		tag, ts, te, ok := derTLV(entries, se, ce)
		if !ok || (tag != tagUTCTime && tag != tagGeneralizedTime) {
			return fmt.Errorf("%w: entry %d: revocationDate", ErrMalformedCRL, i)
		}
		when, ok := parseDERTime(cbasn1.Tag(tag), entries[ts:te])
		if !ok {
			return fmt.Errorf("%w: entry %d: revocationDate %q", ErrMalformedCRL, i, string(entries[ts:te]))
		}
		reason := uint8(reasonAbsent)
		if te < ce {
			tag, xs, xe, ok := derTLV(entries, te, ce)
			if !ok || tag != tagSequence || xe != ce {
				return fmt.Errorf("%w: entry %d: crlEntryExtensions", ErrMalformedCRL, i)
			}
			exts := cryptobyte.String(entries[xs:xe])
			for !exts.Empty() {
				oid, critical, val, err := readExtension(&exts)
				if err != nil {
					return fmt.Errorf("entry %d: %w", i, err)
				}
				switch {
				case hasOID(oid, oidReasonCode):
					var r int
					if !val.ReadASN1Enum(&r) || !val.Empty() || r < 0 || r > 10 || r == 7 {
						return fmt.Errorf("%w: entry %d: reason code", ErrMalformedCRL, i)
					}
					reason = uint8(r)
				case hasOID(oid, oidInvalidityDate), hasOID(oid, oidHoldInstruction):
					// Informational (RFC 5280 5.3.2, 5.3.4).
				case hasOID(oid, oidCertificateIssuer):
					if !indirect {
						// RFC 5280 5.3.3: only indirect CRLs may carry it,
						// and it changes which certificates entries name.
						if c.unusable == nil {
							c.unusable = fmt.Errorf("%w: entry %d: certificateIssuer on a CRL that is not indirect", ErrCriticalExtension, i)
						}
						continue
					}
					idx, err := c.entryIssuer(val)
					if err != nil {
						return fmt.Errorf("entry %d: %w", i, err)
					}
					curIssuer = idx
				default:
					if critical && c.unusable == nil {
						c.unusable = fmt.Errorf("%w: entry %d: %s", ErrCriticalExtension, i, oidString(oid))
					}
				}
			}
		}
		c.idx.add(normalizeSerial(entries[ss:se]), when, reason)
		if indirect {
			c.idx.issuer = append(c.idx.issuer, curIssuer)
		}
	}
	return nil
}

// yieldEntries is how many CRL entries are walked between two yields of
// the processor (pacer.yield): about 0.1 ms of work, and a few ms at worst
// when each entry also takes a page fault on the new index's hash table
// (fresh memory, in a VM). A million-entry CRL takes a few hundred
// milliseconds to walk, and the scheduler only preempts a running
// goroutine after 10-20 ms: without yields, the handshakes queued behind
// it on its processor waited that long each time (BenchmarkCRLLoad1MStall).
const yieldEntries = 512

// DER tags used by the entry walk.
const (
	tagInteger         = 0x02
	tagSequence        = 0x30
	tagUTCTime         = 0x17
	tagGeneralizedTime = 0x18
)

// derTLV reads the DER element starting at b[p:limit] and returns its tag
// and the bounds of its content. It enforces DER lengths (definite,
// minimal) as cryptobyte does, and never reads past limit.
func derTLV(b []byte, p, limit int) (tag byte, cs, ce int, ok bool) {
	if p+2 > limit {
		return 0, 0, 0, false
	}
	tag = b[p]
	if tag&0x1f == 0x1f {
		return 0, 0, 0, false // high tag numbers never occur in CRL entries
	}
	l := int(b[p+1])
	p += 2
	if l&0x80 != 0 {
		nb := l & 0x7f
		if nb == 0 || nb > 4 || p+nb > limit || b[p] == 0 {
			return 0, 0, 0, false
		}
		l = 0
		for i := 0; i < nb; i++ {
			l = l<<8 | int(b[p+i])
		}
		p += nb
		if l < 0x80 {
			return 0, 0, 0, false // should have used the short form
		}
	}
	if l > limit-p {
		return 0, 0, 0, false
	}
	return tag, p, p + l, true
}

// entryIssuer records the directoryName of a certificateIssuer entry
// extension and returns its index.
func (c *CRL) entryIssuer(val cryptobyte.String) (uint16, error) {
	var seq cryptobyte.String
	if !val.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return 0, fmt.Errorf("%w: certificateIssuer", ErrMalformedCRL)
	}
	names, _, err := readGeneralNames(seq)
	if err != nil {
		return 0, err
	}
	for _, n := range names {
		inner, ok := directoryNameInner(n)
		if !ok {
			continue
		}
		for i, known := range c.idx.issuers {
			if bytes.Equal(known, inner) {
				return uint16(i), nil
			}
		}
		if len(c.idx.issuers) >= 1<<16-1 {
			return 0, fmt.Errorf("%w: too many certificate issuers", ErrMalformedCRL)
		}
		c.idx.issuers = append(c.idx.issuers, bytes.Clone(inner))
		return uint16(len(c.idx.issuers) - 1), nil
	}
	return 0, fmt.Errorf("%w: certificateIssuer without a directoryName", ErrIndirectCRL)
}

// checkIssuerMayVerify applies the checks of crypto/x509's
// RevocationList.CheckSignatureFrom that do not involve the signature.
// requireCA is false for a separate CRL-signing certificate, which needs
// the cRLSign key usage but need not be a CA (RFC 5280 4.2.1.3).
func checkIssuerMayVerify(c *CRL, issuer *x509.Certificate, requireCA bool) error {
	switch {
	case requireCA && (issuer.Version == 3 && !issuer.BasicConstraintsValid || issuer.BasicConstraintsValid && !issuer.IsCA):
		return fmt.Errorf("%w: issuer %q is not a CA", ErrCRLSignature, issuer.Subject.String())
	case issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCRLSign == 0:
		return fmt.Errorf("%w: issuer %q key usage does not allow cRLSign", ErrCRLSignature, issuer.Subject.String())
	case issuer.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm:
		return fmt.Errorf("%w: issuer %q has an unsupported public key algorithm", ErrCRLSignature, issuer.Subject.String())
	}
	return nil
}

// checkCRLSignature verifies the signature over the raw TBS bytes with the
// issuer's key, as RevocationList.CheckSignatureFrom does, without the
// parsed entries.
func checkCRLSignature(c *CRL, issuer *x509.Certificate, p *pacer) error {
	err := checkSignatureChunked(issuer, c.SignatureAlgorithm, c.tbs, c.signature, p)
	if err == nil {
		return nil
	}
	if len(c.AuthorityKeyID) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(c.AuthorityKeyID, issuer.SubjectKeyId) {
		return fmt.Errorf("%w: signed by another key (CRL authority key id %s, issuer %q key id %s): %v", ErrCRLSignature,
			hex.EncodeToString(c.AuthorityKeyID), issuer.Subject.String(), hex.EncodeToString(issuer.SubjectKeyId), err)
	}
	if errors.Is(err, x509.ErrUnsupportedAlgorithm) {
		return fmt.Errorf("%w: %s: %v", ErrCRLSignature, c.SignatureAlgorithm, err)
	}
	return fmt.Errorf("%w: not signed by %q: %v", ErrCRLSignature, issuer.Subject.String(), err)
}

func (c *CRL) markVerified(issuer *x509.Certificate) {
	s := string(issuer.RawSubjectPublicKeyInfo)
	c.mu.Lock()
	c.verified.Store(&s)
	c.tbs = nil
	c.mu.Unlock()
}

// CheckSignatureFrom verifies that issuer signed the CRL and may sign CRLs.
// The result is remembered per key, so repeated calls for the same issuer
// cost a comparison.
func (c *CRL) CheckSignatureFrom(issuer *x509.Certificate) error {
	return c.checkSignatureFrom(issuer, true)
}

func (c *CRL) checkSignatureFrom(issuer *x509.Certificate, requireCA bool) error {
	if err := checkIssuerMayVerify(c, issuer, requireCA); err != nil {
		return err
	}
	if p := c.verified.Load(); p != nil {
		if *p == string(issuer.RawSubjectPublicKeyInfo) {
			return nil
		}
		return fmt.Errorf("%w: signed by another key than %q's", ErrCRLSignature, issuer.Subject.String())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.verified.Load(); p != nil {
		if *p == string(issuer.RawSubjectPublicKeyInfo) {
			return nil
		}
		return fmt.Errorf("%w: signed by another key than %q's", ErrCRLSignature, issuer.Subject.String())
	}
	if err, ok := c.failed[string(issuer.RawSubjectPublicKeyInfo)]; ok {
		return err
	}
	if err := checkCRLSignature(c, issuer, nil); err != nil {
		if c.failed == nil {
			c.failed = map[string]error{}
		}
		if len(c.failed) < 16 {
			c.failed[string(issuer.RawSubjectPublicKeyInfo)] = err
		}
		return err
	}
	s := string(issuer.RawSubjectPublicKeyInfo)
	c.verified.Store(&s)
	c.tbs, c.failed = nil, nil
	return nil
}

// validAt checks thisUpdate <= at <= nextUpdate (RFC 5280 6.3.3 (a)),
// allowing skew before thisUpdate: a CRL fetched seconds after the CA
// published it must not fail because our clock is a little behind.
func (c *CRL) validAt(at time.Time, skew time.Duration) error {
	if at.Add(skew).Before(c.ThisUpdate) {
		return fmt.Errorf("%w: thisUpdate %s is after %s", ErrCRLNotYetValid, c.ThisUpdate.Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	if !c.NextUpdate.IsZero() && at.After(c.NextUpdate) {
		return fmt.Errorf("%w: nextUpdate %s is before %s", ErrCRLExpired, c.NextUpdate.Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return nil
}

// describe renders "base CRL #12, 3 entries, next update 2026-...".
func (c *CRL) describe() string {
	if c.desc != "" {
		return c.desc
	}
	kind := "base CRL"
	if c.IsDelta() {
		kind = "delta CRL"
	}
	s := kind
	if c.Number != nil {
		s += " #" + c.Number.String()
	}
	if c.Len() == 1 {
		s += ", 1 entry"
	} else {
		s += fmt.Sprintf(", %d entries", c.Len())
	}
	if c.NextUpdate.IsZero() {
		s += ", no next update"
	} else {
		s += ", next update " + c.NextUpdate.UTC().Format(time.RFC3339)
	}
	return s
}
