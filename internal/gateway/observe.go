package gateway

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/events"
	"github.com/certgate/certgate/internal/metrics"
	"github.com/certgate/certgate/internal/substatus"
	"github.com/certgate/certgate/internal/verify"
)

// Observer turns the gateway's events (Hooks) into W3C access log lines
// and Prometheus metrics. It runs on the connection goroutines and never
// blocks: the access log writers queue, metrics are atomic counters.
type Observer struct {
	metrics *metrics.Metrics
	logger  *slog.Logger
	logs    atomic.Pointer[AccessLogs]
}

// NewObserver returns an Observer writing to m (may be nil) and logs (may
// be nil; replace it on reload with SetAccessLogs). logger receives the
// warnings of accepted certificates (events.VerifyWarnings).
func NewObserver(m *metrics.Metrics, logs *AccessLogs, logger *slog.Logger) *Observer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := &Observer{metrics: m, logger: logger}
	o.logs.Store(logs)
	return o
}

// SetAccessLogs installs the writers of a new snapshot and returns the
// previous set, for the caller to close what is no longer used.
func (o *Observer) SetAccessLogs(logs *AccessLogs) (prev *AccessLogs) { return o.logs.Swap(logs) }

// AccessLogs returns the writers in use.
func (o *Observer) AccessLogs() *AccessLogs { return o.logs.Load() }

// Hooks returns the gateway hooks feeding o.
func (o *Observer) Hooks() Hooks {
	return Hooks{Request: o.request, Handshake: o.handshake, Verify: o.verify,
		Conn: o.conn, Timeout: o.metrics.ClientTimeout}
}

func (o *Observer) request(ev *RequestEvent) {
	// The sub-status belongs to the status the gateway chose; when the
	// upstream answered (a 404 behind an accepted request) the line says
	// 404 with sub-status 0, as IIS logs what the application returned.
	sub := 0
	if ev.Sub.Status == ev.Status {
		sub = ev.Sub.Sub
	}
	o.metrics.Request(ev.Site, substatus.Sub{Status: ev.Status, Sub: sub})
	if label := ev.Refusal.Label(); label != "" {
		o.metrics.RequestRefused(ev.Site, label)
	}

	w := o.logs.Load().For(ev.Site)
	if w == nil {
		return
	}
	r := ev.Request
	e := accesslog.Entry{
		Time:      ev.Start.Add(ev.Elapsed),
		Method:    r.Method,
		URIStem:   r.URL.Path,
		URIQuery:  r.URL.RawQuery,
		UserAgent: headerValue(r.Header, "User-Agent"),
		Referer:   headerValue(r.Header, "Referer"),
		Status:    ev.Status,
		SubStatus: sub,
		Win32:     ev.Code,
		TimeTaken: ev.Elapsed,
	}
	if ev.Identity != nil {
		e.Username = ev.Identity.User
	}
	e.ClientIP, e.ServerIP, e.ServerPort = ev.ClientIP, ev.Local.Addr(), int(ev.Local.Port())
	if !e.ClientIP.IsValid() {
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			e.ClientIP = ap.Addr()
		}
	}
	if !ev.Local.IsValid() {
		if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			ap := addrPort(la)
			e.ServerIP, e.ServerPort = ap.Addr(), int(ap.Port())
		}
	}
	if w.Extended() {
		extendEntry(&e, ev)
	}
	w.Write(e)
}

// extendEntry fills the fields beyond the default layout: only for
// writers configured with them, as the certificate ones cost a
// fingerprint and two name strings per request.
func extendEntry(e *accesslog.Entry, ev *RequestEvent) {
	r := ev.Request
	e.SiteName, e.Version, e.Host = ev.Site, r.Proto, r.Host
	e.BytesSent, e.BytesReceived = ev.BytesWritten, r.ContentLength
	id := ev.Identity
	if id == nil || len(id.Presented) == 0 {
		return
	}
	leaf := id.Presented[0]
	e.CertSubject, e.CertIssuer = leaf.Subject.String(), leaf.Issuer.String()
	e.CertSerial = strings.ToUpper(leaf.SerialNumber.Text(16))
	e.CertSHA256 = verify.Fingerprint(leaf)
	switch o := ev.Outcome; {
	case o != nil && !o.OK():
		e.CertResult = o.Sub.String() + " " + o.Code.Name()
	case id.Verified:
		e.CertResult = "ok"
	case id.Outcome != nil && !id.Outcome.OK():
		e.CertResult = id.Outcome.Sub.String() + " " + id.Outcome.Code.Name()
	}
}

func (o *Observer) handshake(ev *HandshakeEvent) {
	if ev.Err != nil {
		o.metrics.HandshakeFailure(metrics.HandshakeReason(ev.Err))
		return
	}
	o.metrics.Handshake(ev.Site)
}

func (o *Observer) conn(ev *ConnEvent) {
	o.metrics.Connection(ev.Open, ev.Refused)
}

func (o *Observer) verify(ev *VerifyEvent) {
	o.metrics.ObserveVerify(ev.Duration)
	if r := verify.Refusal(ev.Outcome); r != "" {
		o.metrics.ChainRefused(r)
	}
	// A refused or downgraded certificate is logged with its request (and
	// its warnings) by the handler; an accepted one with warnings (such as
	// revocation unavailable but allowed) would otherwise go unnoticed.
	if ev.Outcome != nil && ev.Outcome.OK() {
		events.VerifyWarnings(o.logger, ev.Site, ev.Outcome.Warnings, ev.Outcome.Leaf())
	}
}

// headerValue is Header.Get for a key already in canonical form: net/http
// stores keys canonicalised, and Get would canonicalise key again on every
// request.
func headerValue(h http.Header, canonicalKey string) string {
	if v := h[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}
