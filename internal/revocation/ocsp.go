package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/certgate/certgate/internal/events"
)

// ocspEntry caches the OCSP answer for one (issuer key, serial).
type ocspEntry struct {
	key         string
	state       atomic.Pointer[ocspState]
	pending     atomic.Pointer[pendingOCSP] // from the disk cache, verified at first use
	subject     atomic.Pointer[x509.Certificate]
	issuer      atomic.Pointer[x509.Certificate]
	url         atomic.Pointer[string]
	lastUsed    atomic.Int64
	nextRefresh atomic.Int64
	failure     atomic.Pointer[fetchFailure]
}

type ocspState struct {
	resp      *ocsp.Response
	source    string
	fetchedAt time.Time
}

type pendingOCSP struct {
	der       []byte
	source    string
	fetchedAt time.Time
}

// ocspNoNextUpdateTTL: a response without nextUpdate means the responder
// always has newer information (RFC 6960 4.2.2.1); it is cached briefly.
const ocspNoNextUpdateTTL = 5 * time.Minute

func ocspKey(issuer *x509.Certificate, serial []byte) string {
	h := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h[:16]) + ":" + hex.EncodeToString(serial)
}

func (e *Engine) ocspEntryFor(key string) *ocspEntry {
	e.mu.RLock()
	ent := e.ocsps[key]
	e.mu.RUnlock()
	if ent != nil {
		return ent
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if ent = e.ocsps[key]; ent == nil {
		ent = &ocspEntry{key: key}
		e.ocsps[key] = ent
	}
	return ent
}

// ocsp asks the certificate's OCSP responders (AIA id-ad-ocsp), using a
// cached answer while it is current. It reports false when OCSP gives no
// answer (no responder, failure, or "unknown").
func (r *run) ocsp() (Result, bool) {
	urls := r.cert.OCSPServer
	if len(urls) == 0 {
		return Result{}, false
	}
	serial, ok := certSerial(r.cert)
	if !ok {
		return Result{}, false
	}
	e := r.e
	ent := e.ocspEntryFor(ocspKey(r.issuer, serial))
	ent.lastUsed.Store(r.now.UnixNano())
	if p := ent.pending.Swap(nil); p != nil && ent.state.Load() == nil {
		if resp, err := verifyOCSP(p.der, r.cert, r.issuer, r.now); err == nil {
			ent.state.CompareAndSwap(nil, &ocspState{resp: resp, source: p.source, fetchedAt: p.fetchedAt})
		} else {
			events.SourceFailed(e.log, events.EventRevocationCache, "ignoring cached OCSP response", p.source, err)
		}
	}
	if st := ent.state.Load(); st != nil && (e.opts.Mode == CacheOnly || ocspFresh(st, r.now)) {
		if err := ocspValidAt(st.resp, r.at); err != nil {
			r.fail("cache", st.source, err, 0)
		} else {
			if ent.subject.Load() == nil && e.opts.Mode == Online {
				ent.subject.CompareAndSwap(nil, r.cert)
				ent.issuer.CompareAndSwap(nil, r.issuer)
				ent.url.CompareAndSwap(nil, &st.source)
				e.scheduleOCSP(ent, st, r.now)
			}
			r.ok("cache", st.source, "OCSP "+ocspDescribe(st.resp), 0)
			return r.ocspDecide(st)
		}
	}
	if e.opts.Mode == CacheOnly {
		r.fail("ocsp", urls[0], ErrNotCached, 0)
		return Result{}, false
	}
	for _, u := range urls {
		if _, err := e.fetch.checkURL(u); err != nil {
			r.fail("ocsp", u, err, 0)
			continue
		}
		if f := ent.failure.Load(); f != nil && r.now.Sub(f.at) < failureBackoff {
			r.fail("ocsp", u, fmt.Errorf("%w (failed at %s)", f.err, f.at.UTC().Format(time.RFC3339)), 0)
			continue
		}
		start := time.Now()
		st, err := e.fetchOCSP(r.ctx, ent, u, r.cert, r.issuer)
		if err == nil {
			err = ocspValidAt(st.resp, r.at)
		}
		if err != nil {
			r.fail("ocsp", u, err, time.Since(start))
			continue
		}
		r.ok("ocsp", u, "verified OCSP "+ocspDescribe(st.resp), time.Since(start))
		return r.ocspDecide(st)
	}
	return Result{}, false
}

func (r *run) ocspDecide(st *ocspState) (Result, bool) {
	resp := st.resp
	switch resp.Status {
	case ocsp.Good:
		return Result{
			Status:     Good,
			Source:     st.source,
			NextUpdate: resp.NextUpdate,
			Reason: fmt.Sprintf("certificate %s serial %s is good according to OCSP responder %q",
				subjectOf(r.cert), serialHex(r.cert), st.source),
		}, true
	case ocsp.Revoked:
		return Result{
			Status:     Revoked,
			Source:     st.source,
			RevokedAt:  resp.RevokedAt,
			ReasonCode: resp.RevocationReason,
			NextUpdate: resp.NextUpdate,
			Reason: fmt.Sprintf("certificate %s serial %s was revoked on %s (reason %s) according to OCSP responder %q",
				subjectOf(r.cert), serialHex(r.cert), resp.RevokedAt.UTC().Format(time.RFC3339), ReasonCodeName(resp.RevocationReason), st.source),
			Err: fmt.Errorf("%w: serial %s per OCSP responder %q", ErrRevoked, serialHex(r.cert), st.source),
		}, true
	}
	r.failures = append(r.failures, failure{kind: "ocsp", source: st.source, err: ErrOCSPUnknown})
	return Result{}, false
}

func ocspDescribe(resp *ocsp.Response) string {
	status := map[int]string{ocsp.Good: "good", ocsp.Revoked: "revoked", ocsp.Unknown: "unknown"}[resp.Status]
	s := fmt.Sprintf("response %q, this update %s", status, resp.ThisUpdate.UTC().Format(time.RFC3339))
	if !resp.NextUpdate.IsZero() {
		s += ", next update " + resp.NextUpdate.UTC().Format(time.RFC3339)
	}
	return s
}

func ocspFresh(st *ocspState, now time.Time) bool {
	if st.resp.NextUpdate.IsZero() {
		return now.Sub(st.fetchedAt) < ocspNoNextUpdateTTL
	}
	return !now.After(st.resp.NextUpdate)
}

func ocspValidAt(resp *ocsp.Response, at time.Time) error {
	if at.Add(thisUpdateSkew).Before(resp.ThisUpdate) {
		return fmt.Errorf("%w: thisUpdate %s is after %s", ErrOCSP, resp.ThisUpdate.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	if !resp.NextUpdate.IsZero() && at.After(resp.NextUpdate) {
		return fmt.Errorf("%w: nextUpdate %s is before %s", ErrOCSP, resp.NextUpdate.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return nil
}

// fetchOCSP queries one responder (shared by concurrent callers) and
// caches the verified answer.
func (e *Engine) fetchOCSP(ctx context.Context, ent *ocspEntry, rawURL string, cert, issuer *x509.Certificate) (*ocspState, error) {
	ch := e.sf.DoChan("ocsp\x00"+ent.key+"\x00"+rawURL, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.Timeout)
		defer cancel()
		return e.doFetchOCSP(fctx, ent, rawURL, cert, issuer)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*ocspState), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("stopped waiting for the OCSP request: %w", ctx.Err())
	}
}

func (e *Engine) doFetchOCSP(ctx context.Context, ent *ocspEntry, rawURL string, cert, issuer *x509.Certificate) (*ocspState, error) {
	if e.opts.OnFetchStart != nil {
		e.opts.OnFetchStart("ocsp", rawURL)
	}
	start := time.Now()
	der, err := e.queryOCSP(ctx, rawURL, cert, issuer)
	var resp *ocsp.Response
	now := e.now()
	if err == nil {
		resp, err = verifyOCSP(der, cert, issuer, now)
	}
	if err == nil && !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate) {
		err = fmt.Errorf("%w: the responder sent a response whose nextUpdate %s has passed", ErrOCSP, resp.NextUpdate.UTC().Format(time.RFC3339))
	}
	if e.opts.OnFetch != nil {
		e.opts.OnFetch("ocsp", rawURL, err == nil, time.Since(start))
	}
	if err != nil {
		ent.failure.Store(&fetchFailure{at: now, err: err})
		events.SourceFailed(e.log, events.EventOCSPFetchFailed, "OCSP request failed", rawURL, err, slog.String("serial", serialHex(cert)))
		return nil, err
	}
	st := &ocspState{resp: resp, source: rawURL, fetchedAt: now}
	ent.subject.Store(cert)
	ent.issuer.Store(issuer)
	ent.url.Store(&rawURL)
	ent.state.Store(st)
	e.gen.Add(1)
	ent.failure.Store(nil)
	e.scheduleOCSP(ent, st, now)
	if e.disk != nil {
		if err := e.disk.put(diskMeta{Kind: "ocsp", Key: ent.key, Source: rawURL, FetchedAt: now}, der); err != nil {
			events.SourceFailed(e.log, events.EventRevocationCache, "could not write the revocation disk cache", rawURL, err)
		}
	}
	return st, nil
}

// queryOCSP sends the request as GET when the encoded request keeps the URL
// under 255 bytes (RFC 5019 section 5, cache-friendly), else as POST.
func (e *Engine) queryOCSP(ctx context.Context, rawURL string, cert, issuer *x509.Certificate) ([]byte, error) {
	u, err := e.fetch.checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, fmt.Errorf("build OCSP request: %w", err)
	}
	// RFC 6960 appendix A.1: the URL-encoding of the base64 request, so
	// '+', '/' and '=' are percent-encoded.
	enc := url.QueryEscape(base64.StdEncoding.EncodeToString(req))
	base := u.String()
	if len(base)+1+len(enc) <= 255 {
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		gu, err := url.Parse(base + enc)
		if err == nil {
			return e.fetch.get(ctx, gu, nil, "")
		}
	}
	return e.fetch.get(ctx, u, req, "application/ocsp-request")
}

// verifyOCSP parses an OCSP response and checks that it answers for cert
// and issuer: the response is signed by the issuer or by a responder
// certificate the issuer issued with the id-kp-OCSPSigning EKU (RFC 6960
// 4.2.2.2), and the CertID's issuer name and key hashes are the issuer's,
// not only the serial. golang.org/x/crypto/ocsp checks the signature and
// serial but neither the EKU nor the issuer hashes.
func verifyOCSP(der []byte, cert, issuer *x509.Certificate, now time.Time) (*ocsp.Response, error) {
	resp, err := ocsp.ParseResponseForCert(der, cert, nil)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("%w: the responder answered %q", ErrOCSP, re.Status.String())
		}
		var se asn1.StructuralError
		var sy asn1.SyntaxError
		if errors.As(err, &se) || errors.As(err, &sy) {
			return nil, fmt.Errorf("%w: not a DER OCSP response", ErrOCSP)
		}
		return nil, fmt.Errorf("%w: %v", ErrOCSP, err)
	}
	switch rc := resp.Certificate; {
	case rc == nil:
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%w: not signed by %q: %v", ErrOCSP, issuer.Subject.String(), err)
		}
	case bytes.Equal(rc.Raw, issuer.Raw):
		// Signed by the issuer itself, which it included; ParseResponseForCert
		// checked the signature with it.
	default:
		if err := rc.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%w: responder certificate %q is not issued by %q: %v", ErrOCSP, rc.Subject.String(), issuer.Subject.String(), err)
		}
		if !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return nil, fmt.Errorf("%w: responder certificate %q lacks the OCSPSigning extended key usage", ErrOCSP, rc.Subject.String())
		}
		if now.Before(rc.NotBefore) || now.After(rc.NotAfter) {
			return nil, fmt.Errorf("%w: responder certificate %q is outside its validity period", ErrOCSP, rc.Subject.String())
		}
	}
	if err := checkCertID(resp, cert, issuer); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkCertID finds the SingleResponse that ParseResponseForCert used (the
// first with the certificate's serial) and compares its issuer hashes.
func checkCertID(resp *ocsp.Response, cert, issuer *x509.Certificate) error {
	serial, _ := certSerial(cert)
	h := resp.IssuerHash
	if h == 0 {
		h = crypto.SHA1
	}
	if !h.Available() {
		return fmt.Errorf("%w: CertID hash %v unavailable", ErrOCSP, h)
	}
	nameHash := hashOf(h, issuer.RawSubject)
	keyHash := hashOf(h, spkiKeyBits(issuer.RawSubjectPublicKeyInfo))

	s := cryptobyte.String(resp.TBSResponseData)
	var rd, responses cryptobyte.String
	if !s.ReadASN1(&rd, cbasn1.SEQUENCE) ||
		!rd.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!rd.SkipASN1(anyResponderID(rd)) ||
		!rd.SkipASN1(cbasn1.GeneralizedTime) ||
		!rd.ReadASN1(&responses, cbasn1.SEQUENCE) {
		return fmt.Errorf("%w: malformed ResponseData", ErrOCSP)
	}
	for !responses.Empty() {
		var single, certID, alg, nh, kh, sn cryptobyte.String
		if !responses.ReadASN1(&single, cbasn1.SEQUENCE) || !single.ReadASN1(&certID, cbasn1.SEQUENCE) ||
			!certID.ReadASN1(&alg, cbasn1.SEQUENCE) || !certID.ReadASN1(&nh, cbasn1.OCTET_STRING) ||
			!certID.ReadASN1(&kh, cbasn1.OCTET_STRING) || !certID.ReadASN1(&sn, cbasn1.INTEGER) {
			return fmt.Errorf("%w: malformed SingleResponse", ErrOCSP)
		}
		if !bytes.Equal(normalizeSerial(sn), serial) {
			continue
		}
		if !bytes.Equal(nh, nameHash) || !bytes.Equal(kh, keyHash) {
			return fmt.Errorf("%w: the response for serial %s is about another issuer than %q", ErrOCSP, serialHex(cert), issuer.Subject.String())
		}
		return nil
	}
	return fmt.Errorf("%w: no response for serial %s", ErrOCSP, serialHex(cert))
}

// anyResponderID returns the tag of the ResponderID CHOICE at the front.
func anyResponderID(s cryptobyte.String) cbasn1.Tag {
	if s.PeekASN1Tag(cbasn1.Tag(2).Constructed().ContextSpecific()) {
		return cbasn1.Tag(2).Constructed().ContextSpecific()
	}
	return cbasn1.Tag(1).Constructed().ContextSpecific()
}

func hashOf(h crypto.Hash, b []byte) []byte {
	w := h.New()
	w.Write(b)
	return w.Sum(nil)
}

// spkiKeyBits returns the subjectPublicKey BIT STRING contents, what the
// CertID issuerKeyHash covers.
func spkiKeyBits(spki []byte) []byte {
	s := cryptobyte.String(spki)
	var seq cryptobyte.String
	var bits []byte
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.SkipASN1(cbasn1.SEQUENCE) || !seq.ReadASN1BitStringAsBytes(&bits) {
		return nil
	}
	return bits
}

// scheduleOCSP plans the background refresh of a response at 80% of its
// validity window; responses without nextUpdate are not refreshed ahead.
func (e *Engine) scheduleOCSP(ent *ocspEntry, st *ocspState, now time.Time) {
	r := st.resp
	if r.NextUpdate.IsZero() {
		ent.nextRefresh.Store(0)
		return
	}
	at := r.ThisUpdate.Add(time.Duration(refreshAt * float64(r.NextUpdate.Sub(r.ThisUpdate))))
	if floor := now.Add(retryGap(r.NextUpdate, now)); at.Before(floor) {
		at = floor
	}
	ent.nextRefresh.Store(at.UnixNano())
}

func (e *Engine) refreshOCSP(ctx context.Context, ent *ocspEntry) {
	cert, issuer, u := ent.subject.Load(), ent.issuer.Load(), ent.url.Load()
	if cert == nil || issuer == nil || u == nil {
		return
	}
	if _, err := e.fetchOCSP(ctx, ent, *u, cert, issuer); err != nil {
		now := e.now()
		if st := ent.state.Load(); st != nil {
			ent.nextRefresh.Store(now.Add(retryGap(st.resp.NextUpdate, now)).UnixNano())
		}
		events.SourceFailed(e.log, events.EventOCSPRefreshFailed, "background OCSP refresh failed; keeping the current response", *u, err)
	}
}
