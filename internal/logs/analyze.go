package logs

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/substatus"
)

// MaxLineBytes bounds one line; longer lines are malformed (IIS truncates
// long fields well below this).
const MaxLineBytes = 64 << 10

// MaxKeys bounds the distinct client IPs and paths remembered per failure
// class: past it, new values are counted under "(other)" so that memory
// stays flat whatever the input.
const MaxKeys = 10000

// OtherKey collects the values past MaxKeys.
const OtherKey = "(other)"

// Options filter what is counted. Lines outside the filters still count in
// TotalLines (and MalformedLines) but in no summary.
type Options struct {
	// Since and Until bound the request time (inclusive, exclusive); zero is
	// unbounded. W3C times are UTC.
	Since, Until time.Time
	// Site keeps only lines whose s-sitename equals it (case-insensitive).
	Site string
	// Status keeps only lines with this status ("403") or status.substatus
	// ("403.13").
	Status string
	// Top is how many client IPs and paths to list per failure class; 0
	// means 10.
	Top int
}

// Analyzer accumulates lines from any number of streams into one Report.
// It is not safe for concurrent use.
type Analyzer struct {
	opts        Options
	since       int64 // yyyymmddhhmmss, 0 = unbounded
	until       int64
	status      int
	sub         int
	exactSub    bool
	defLayout   *Layout
	total       int64
	malformed   int64
	matched     int64
	byStatus    map[statusKey]int64
	bySite      map[string]*int64
	byHost      map[string]*int64
	byHour      map[int64]int64
	classes     map[statusKey]*class
	samples     []Malformed
	files       []string
	noTimeLines int64
}

type statusKey struct {
	status, sub int32
	win32       uint32
}

type class struct {
	count   int64
	clients map[string]*int64
	paths   map[string]*int64
	byHour  map[int64]int64
}

// Malformed is one skipped line, for the report (the first few only).
type Malformed struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

const maxSamples = 5

// NewAnalyzer validates opts and returns an empty Analyzer.
func NewAnalyzer(opts Options) (*Analyzer, error) {
	a := &Analyzer{
		opts:      opts,
		defLayout: NewLayout(strings.Fields(accesslog.Fields)),
		byStatus:  map[statusKey]int64{},
		bySite:    map[string]*int64{},
		byHost:    map[string]*int64{},
		byHour:    map[int64]int64{},
		classes:   map[statusKey]*class{},
	}
	if a.opts.Top <= 0 {
		a.opts.Top = 10
	}
	if !opts.Since.IsZero() {
		a.since = stamp(opts.Since)
	}
	if !opts.Until.IsZero() {
		a.until = stamp(opts.Until)
	}
	if opts.Since.After(opts.Until) && !opts.Until.IsZero() {
		return nil, fmt.Errorf("analyze: --since %s is after --until %s", opts.Since.UTC().Format(time.DateTime), opts.Until.UTC().Format(time.DateTime))
	}
	if opts.Status != "" {
		s, err := substatus.ParseSub(opts.Status)
		if err != nil {
			return nil, fmt.Errorf("analyze --status: %w", err)
		}
		a.status, a.sub, a.exactSub = s.Status, s.Sub, strings.Contains(opts.Status, ".")
	}
	return a, nil
}

// stamp is t in UTC as the number yyyymmddhhmmss, comparable like the time.
func stamp(t time.Time) int64 {
	u := t.UTC()
	y, m, d := u.Date()
	return int64(y)*1e10 + int64(m)*1e8 + int64(d)*1e6 + int64(u.Hour())*1e4 + int64(u.Minute())*100 + int64(u.Second())
}

// num parses the digits of b at idx as one decimal.
func num(b []byte, idx ...int) int64 {
	var n int64
	for _, i := range idx {
		n = n*10 + int64(b[i]-'0')
	}
	return n
}

// Read adds every line of r to the summaries. name is used in malformed
// line reports. Gzip input is recognised by its magic bytes, whatever the
// file name. A read error stops this stream and is returned; what was
// counted so far stays counted.
func (a *Analyzer) Read(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("read %s: gzip: %w", name, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	a.files = append(a.files, name)
	layout := a.defLayout
	var dirDate []byte // the #Date directive's day, for layouts without a date field
	var rec Record
	var lineNo int64
	var rerr error
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > MaxLineBytes {
			// Skip the rest of an overlong line; it is one malformed line.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			lineNo++
			a.total++
			a.bad(name, lineNo, ErrLineTooLong)
			if err != nil {
				rerr = err
				break
			}
			continue
		}
		if len(line) == 0 && err != nil {
			rerr = err
			break
		}
		lineNo++
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && line[0] == '#' {
			if rest, ok := bytes.CutPrefix(line, []byte("#Fields:")); ok {
				layout = NewLayout(strings.Fields(string(rest)))
			} else if rest, ok := bytes.CutPrefix(line, []byte("#Date:")); ok {
				if f := bytes.Fields(rest); len(f) > 0 && validDate(f[0]) {
					dirDate = append(dirDate[:0], f[0]...)
				}
			}
		} else if len(line) > 0 {
			a.total++
			if perr := ParseLine(line, layout, &rec); perr != nil {
				a.bad(name, lineNo, perr)
			} else {
				if rec.Date == nil && dirDate != nil {
					rec.Date = dirDate
				}
				a.add(&rec)
			}
		}
		if err != nil {
			rerr = err
			break
		}
	}
	if rerr != nil && !errors.Is(rerr, io.EOF) {
		return fmt.Errorf("read %s: %w", name, rerr)
	}
	return nil
}

func (a *Analyzer) bad(name string, line int64, err error) {
	a.malformed++
	if len(a.samples) < maxSamples {
		a.samples = append(a.samples, Malformed{File: name, Line: line, Reason: err.Error()})
	}
}

func (a *Analyzer) add(r *Record) {
	var hour, ts int64 = -1, -1
	if r.Date != nil && r.Time != nil {
		day := num(r.Date, 0, 1, 2, 3, 5, 6, 8, 9)
		hour = day*100 + num(r.Time, 0, 1)
		ts = hour*1e4 + num(r.Time, 3, 4, 6, 7)
	}
	if a.since != 0 || a.until != 0 {
		if ts < 0 || (a.since != 0 && ts < a.since) || (a.until != 0 && ts >= a.until) {
			return
		}
	}
	if a.opts.Site != "" && (r.Site == nil || !strings.EqualFold(string(r.Site), a.opts.Site)) {
		return
	}
	if a.status != 0 && (r.Status != a.status || (a.exactSub && r.Sub != a.sub)) {
		return
	}
	a.matched++
	k := statusKey{int32(r.Status), int32(r.Sub), r.Win32}
	a.byStatus[k]++
	if r.Site != nil {
		inc(a.bySite, r.Site, 0)
	}
	if r.Host != nil {
		inc(a.byHost, r.Host, 0)
	}
	if hour >= 0 {
		a.byHour[hour]++
	} else {
		a.noTimeLines++
	}
	if r.Status < 400 {
		return
	}
	c := a.classes[k]
	if c == nil {
		c = &class{clients: map[string]*int64{}, paths: map[string]*int64{}, byHour: map[int64]int64{}}
		a.classes[k] = c
	}
	c.count++
	if r.Client != nil {
		inc(c.clients, r.Client, MaxKeys)
	}
	if r.Stem != nil {
		inc(c.paths, r.Stem, MaxKeys)
	}
	if hour >= 0 {
		c.byHour[hour]++
	}
}

// inc counts key in m; past limit distinct keys (0: unlimited) new keys
// count under OtherKey. The lookup does not allocate.
func inc(m map[string]*int64, key []byte, limit int) {
	if p := m[string(key)]; p != nil {
		*p++
		return
	}
	k := string(key)
	if limit > 0 && len(m) >= limit {
		k = OtherKey
		if p := m[k]; p != nil {
			*p++
			return
		}
	}
	one := int64(1)
	m[k] = &one
}
