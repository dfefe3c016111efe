package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/config"
)

// AccessLogOptions are the injected edges of the access log writers.
type AccessLogOptions struct {
	Version string
	Now     func() time.Time
	Logger  *slog.Logger
	// OnDrop counts dropped lines (metrics.Metrics.AccessLogDropped).
	OnDrop func()
}

// AccessLogs routes each site's requests to its W3C writer: the site's own
// access_log block, else the shared top-level one, else none. Sites that
// name the same directory share one writer: two writers appending to one
// file would interleave their header blocks.
type AccessLogs struct {
	bySite map[string]*accesslog.Writer
	// byDir holds every writer once, keyed by cleaned directory.
	byDir map[string]*dirWriter
}

type dirWriter struct {
	w   *accesslog.Writer
	key logKey // as configured, for reuse across reloads
}

// logKey is what must be equal for a writer to be reused or shared.
type logKey struct {
	rollover string
	maxSize  int64
	buffer   int
	fields   string
	format   string
}

// OpenAccessLogs opens the writers cfg asks for. Writers of prev whose
// directory and settings are unchanged are reused, so that a reload does
// not write a new header block or lose queued lines; the caller closes the
// rest of prev with CloseUnused once the new set is in use. On error
// nothing of prev is touched and the writers opened here are closed.
func OpenAccessLogs(cfg *config.Config, prev *AccessLogs, o AccessLogOptions) (*AccessLogs, error) {
	a := &AccessLogs{bySite: map[string]*accesslog.Writer{}, byDir: map[string]*dirWriter{}}
	var errs []error
	open := func(field string, c *config.AccessLog) *accesslog.Writer {
		opts := accessLogOptions(c)
		dir := filepath.Clean(opts.Dir)
		key := logKey{opts.Rollover, opts.MaxSize, opts.Buffer, strings.Join(c.Fields, " "), opts.Format}
		if dw, ok := a.byDir[dir]; ok {
			if dw.key != key {
				errs = append(errs, cfg.FieldErr(field, fmt.Errorf("open access log %q: already used with other settings (rollover, max_size, buffer, fields or format) by another access_log block", dir)))
			}
			return dw.w
		}
		if prev != nil {
			if dw, ok := prev.byDir[dir]; ok && dw.key == key {
				a.byDir[dir] = dw
				return dw.w
			}
		}
		opts.Dir = dir
		opts.Version, opts.Now, opts.Logger, opts.OnDrop = o.Version, o.Now, o.Logger, o.OnDrop
		w, err := accesslog.Open(opts)
		if err != nil {
			errs = append(errs, cfg.FieldErr(field, err))
			return nil
		}
		a.byDir[dir] = &dirWriter{w: w, key: key}
		return w
	}
	var shared *accesslog.Writer
	if cfg.AccessLog != nil && cfg.AccessLog.Dir != "" {
		shared = open("access_log.dir", cfg.AccessLog)
	}
	for i := range cfg.Sites {
		s := &cfg.Sites[i]
		name := s.Name
		if name == "" {
			name = "site" + strconv.Itoa(i) // as Build names it
		}
		w := shared
		if s.AccessLog != nil && s.AccessLog.Dir != "" {
			w = open(fmt.Sprintf("sites[%d].access_log.dir", i), s.AccessLog)
		}
		if w != nil {
			a.bySite[name] = w
		}
	}
	if len(errs) > 0 {
		a.CloseUnused(prev)
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// accessLogOptions converts an access_log block of certgate.yaml (after
// config defaults) into the writer's own options; version, clock, logger
// and OnDrop are the caller's. The rollover names and defaults are spelled
// the same in both packages (TestAccessLogOptionsFromConfig).
func accessLogOptions(a *config.AccessLog) accesslog.Options {
	o := accesslog.Options{Dir: a.Dir, Rollover: a.Rollover, MaxSize: a.MaxSize, Buffer: a.Buffer, Format: a.Format}
	if len(a.Fields) > 0 {
		// Validated with the config: ParseFields cannot fail here.
		o.Fields, _ = accesslog.ParseFields(a.Fields)
	}
	return o
}

// For returns the writer of site, or nil (a nil Writer discards).
func (a *AccessLogs) For(site string) *accesslog.Writer {
	if a == nil {
		return nil
	}
	return a.bySite[site]
}

// CloseUnused closes the writers of a that next does not use, draining
// their queues. next may be nil (close everything not shared with nil:
// everything).
func (a *AccessLogs) CloseUnused(next *AccessLogs) error {
	if a == nil {
		return nil
	}
	var errs []error
	for dir, dw := range a.byDir {
		if next != nil {
			if n, ok := next.byDir[dir]; ok && n.w == dw.w {
				continue
			}
		}
		if err := dw.w.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close drains and closes every writer.
func (a *AccessLogs) Close() error { return a.CloseUnused(nil) }

// Dropped is the total of lines dropped by every writer.
func (a *AccessLogs) Dropped() uint64 {
	if a == nil {
		return 0
	}
	var n uint64
	for _, dw := range a.byDir {
		n += dw.w.Dropped()
	}
	return n
}
