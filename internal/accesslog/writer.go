package accesslog

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certgate/certgate/internal/events"
)

// Rollover policies. certgate.yaml spells them the same way
// (access_log.rollover); the gateway converts the config block into
// Options, so that this package reads no config types.
const (
	RolloverDaily = "daily" // u_exYYMMDD.log, a new file at midnight UTC
	RolloverSize  = "size"  // u_extendN.log, a new file past MaxSize
	RolloverNone  = "none"  // u_extend1.log forever (IIS "Unlimited")
)

// Defaults applied by Open to zero Options fields. The config defaults
// (internal/config) are the same values; a gateway test keeps them equal.
const (
	// DefaultBuffer is how many lines may wait for the disk before Write
	// starts dropping.
	DefaultBuffer = 8192
	// DefaultMaxSize is IIS's default truncateSize (20 MiB).
	DefaultMaxSize = 20 << 20
	// DefaultFlushInterval bounds how stale the file is while traffic is
	// low (IIS flushes every 60 s; a gateway's admins tail the log).
	DefaultFlushInterval = time.Second
)

// drainInterval is how often the writer goroutine takes the queued lines
// (see run).
const drainInterval = 10 * time.Millisecond

// bufSize is the bufio buffer: large enough that a burst is one write(2).
const bufSize = 64 << 10

// Options configures a Writer.
type Options struct {
	// Dir receives the log files; it is created if missing.
	Dir string
	// Rollover is RolloverDaily (default), RolloverSize or RolloverNone.
	Rollover string
	// MaxSize is the size in bytes past which RolloverSize starts a new
	// file; default DefaultMaxSize. A file always holds at least one line.
	MaxSize int64
	// Buffer is the number of lines queued before Write drops; default
	// DefaultBuffer.
	Buffer int
	// Version is written in "#Software: certgate <Version>".
	Version string
	// Fields are the columns; nil is the default layout (Fields).
	Fields []Field
	// Format is FormatW3C (default) or FormatJSON (one JSON object per
	// line, no header block).
	Format string
	// ComputerName fills s-computername; default os.Hostname.
	ComputerName string
	// FlushInterval is how often buffered lines reach the file; default
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Now is the clock for entries without a Time; default time.Now.
	// Tests inject a fake clock.
	Now func() time.Time
	// Logger receives write failures (once per failure streak, and the
	// recovery); default discards.
	Logger *slog.Logger
	// OnDrop, if set, is called for every dropped line (for a metrics
	// counter). It runs on the request path and must not block.
	OnDrop func()
}

// Writer is one W3C log directory. It is safe for concurrent use; a nil
// *Writer discards everything, so callers need no "logging enabled" checks.
type Writer struct {
	opts Options
	// maxBytes bounds the formatted lines waiting for the disk, whatever
	// their count: a request line can be as long as net/http's header
	// limit (1 MB), and Buffer such lines must not hold gigabytes.
	maxBytes int

	// mu guards the batch Write appends to and closed. Lines are
	// formatted by the request's goroutine, while its strings are still
	// in cache, and only copied under mu.
	mu     sync.Mutex
	closed bool
	cur    *batch
	spare  *batch // the writer goroutine's previous batch, for reuse

	flushReq chan chan error
	quit     chan struct{}
	done     chan struct{}

	dropped atomic.Uint64
	failed  atomic.Uint64
	written atomic.Uint64

	// Owned by the run goroutine.
	f       *os.File
	bw      *bufio.Writer
	size    int64  // bytes in the current file, including buffered ones
	lines   int    // entry lines in the current file since it was opened
	pending uint64 // lines in bw not yet flushed to the file
	day     int    // yyyymmdd (UTC) of the open daily file
	seq     int    // N of the open u_extendN.log
	hdr     []byte
	lastErr error
	// closeErr is the first error of the final drain, reported by Close.
	closeErr error
}

// batch is formatted lines waiting for the writer goroutine: buf holds
// them back to back, lines says where each ends and its time (for daily
// rollover).
type batch struct {
	buf   []byte
	lines []lineEnd
}

type lineEnd struct {
	end int
	t   time.Time
}

// maxLineBytes sets the queue's byte bound: room for Buffer lines of 1
// KiB each (maxBytes), generous for lines of typically 150 to 300 bytes.
const maxLineBytes = 1024

// keepBatchBytes is how much buffer a batch keeps between bursts; a
// larger one left by a burst is given back to the garbage collector.
const keepBatchBytes = 1 << 20

// Open validates opts, creates Dir, checks that it is writable and starts
// the writer goroutine. The first file is opened on the first line, so a
// restart without traffic does not add a header block.
func Open(opts Options) (*Writer, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("open access log: %w", ErrNoDir)
	}
	switch opts.Rollover {
	case "":
		opts.Rollover = RolloverDaily
	case RolloverDaily, RolloverSize, RolloverNone:
	default:
		return nil, fmt.Errorf("open access log %q: %w %q: want daily, size or none", opts.Dir, ErrInvalidRollover, opts.Rollover)
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	switch opts.Format {
	case "":
		opts.Format = FormatW3C
	case FormatW3C, FormatJSON:
	default:
		return nil, fmt.Errorf("open access log %q: format %q: want w3c or json", opts.Dir, opts.Format)
	}
	if opts.ComputerName == "" {
		opts.ComputerName, _ = os.Hostname()
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("open access log: %w", err)
	}
	// Fail at startup, not on the first request, when the directory is not
	// writable (wrong owner under systemd's User=).
	probe, err := os.CreateTemp(opts.Dir, ".certgate-probe-*")
	if err != nil {
		return nil, fmt.Errorf("open access log %q: directory is not writable: %w", opts.Dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())

	w := &Writer{
		opts:     opts,
		maxBytes: opts.Buffer * maxLineBytes,
		cur:      &batch{},
		spare:    &batch{},
		flushReq: make(chan chan error),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		bw:       bufio.NewWriterSize(nil, bufSize),
		hdr:      make([]byte, 0, 512),
	}
	go w.run()
	return w, nil
}

// The formats of Options.Format.
const (
	FormatW3C  = "w3c"
	FormatJSON = "json"
)

// fields are the JSON columns: the configured ones or the default layout.
func (w *Writer) fields() []Field {
	if w.opts.Fields != nil {
		return w.opts.Fields
	}
	return DefaultFields
}

// Extended reports whether lines carry more than the default layout
// (configured fields or JSON), so that callers compute the extra Entry
// fields (certificate subject, fingerprint...) only when they are written.
func (w *Writer) Extended() bool {
	return w != nil && (w.opts.Fields != nil || w.opts.Format == FormatJSON)
}

// Dir returns the directory the Writer writes to.
func (w *Writer) Dir() string {
	if w == nil {
		return ""
	}
	return w.opts.Dir
}

// Write formats e and queues the line without blocking. When the buffer
// is full (Buffer lines, or Buffer KiB), or the Writer is closed, the line
// is dropped and counted.
func (w *Writer) Write(e Entry) {
	if w == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = w.opts.Now()
	}
	var stack [512]byte
	var line []byte
	switch {
	case w.opts.Format == FormatJSON:
		e.ComputerName = w.opts.ComputerName
		line = AppendJSON(stack[:0], w.fields(), &e)
	case w.opts.Fields != nil:
		e.ComputerName = w.opts.ComputerName
		line = AppendFields(stack[:0], w.opts.Fields, &e)
	default:
		line = AppendLine(stack[:0], &e)
	}
	w.mu.Lock()
	b := w.cur
	// An empty batch takes any line, so that no line is too long to log.
	if !w.closed && len(b.lines) < w.opts.Buffer && (len(b.lines) == 0 || len(b.buf)+len(line) <= w.maxBytes) {
		b.buf = append(b.buf, line...)
		b.lines = append(b.lines, lineEnd{end: len(b.buf), t: e.Time})
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	w.dropped.Add(1)
	if w.opts.OnDrop != nil {
		w.opts.OnDrop()
	}
}

// queued returns how many lines wait for the writer goroutine.
func (w *Writer) queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.cur.lines)
}

// Dropped returns how many lines were dropped because the buffer was full
// (the disk is slower than the traffic) or the Writer was closed.
func (w *Writer) Dropped() uint64 {
	if w == nil {
		return 0
	}
	return w.dropped.Load()
}

// Failed returns how many queued lines were lost to write errors.
func (w *Writer) Failed() uint64 {
	if w == nil {
		return 0
	}
	return w.failed.Load()
}

// Written returns how many lines reached the file.
func (w *Writer) Written() uint64 {
	if w == nil {
		return 0
	}
	return w.written.Load()
}

// Flush writes every line queued before the call to the file and returns
// the last write error, if the writer is failing.
func (w *Writer) Flush() error {
	if w == nil {
		return nil
	}
	ack := make(chan error, 1)
	select {
	case w.flushReq <- ack:
		return <-ack
	case <-w.done:
		return nil
	}
}

// Close drains the queue, flushes and closes the file. Lines written after
// Close are dropped. Close is idempotent; it returns the first error met
// while draining.
func (w *Writer) Close() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.quit)
	}
	w.mu.Unlock()
	<-w.done
	return w.closeErr
}

func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	// The queue is drained in batches every drainInterval rather than as
	// each line arrives. A goroutine woken for every line is made runnable
	// once per request: on one core that scheduling, and a knock-on effect
	// on the runtime's initial goroutine stack size (net/http's
	// per-request background reader then had to grow its stack), cost
	// about 15% of certgate's CPU per keep-alive request
	// (docs/benchmarks.md). Nothing waits for the writer, so only the
	// queue's capacity matters: Buffer lines per drainInterval (8192 per
	// 10 ms by default) before lines are dropped.
	drain := time.NewTicker(drainInterval)
	defer drain.Stop()
	for {
		select {
		case <-drain.C:
			w.drain()
		case <-tick.C:
			w.flush()
		case ack := <-w.flushReq:
			// Everything queued before Flush was called is in cur now.
			w.drain()
			w.flush()
			ack <- w.lastErr
		case <-w.quit:
			// closed is set, so cur no longer grows.
			w.drain()
			w.flush()
			w.closeFile()
			return
		}
	}
}

// drain takes the lines queued so far and writes them to the file buffer.
func (w *Writer) drain() {
	w.mu.Lock()
	b := w.cur
	w.cur, w.spare = w.spare, nil
	w.mu.Unlock()
	start := 0
	for _, l := range b.lines {
		w.write(b.buf[start:l.end], l.t)
		start = l.end
	}
	if cap(b.buf) > keepBatchBytes && len(b.buf) < cap(b.buf)/4 {
		b.buf = nil
	}
	b.buf, b.lines = b.buf[:0], b.lines[:0]
	w.mu.Lock()
	w.spare = b
	w.mu.Unlock()
}

// write puts one formatted line, completed at t, in the file buffer.
func (w *Writer) write(line []byte, t time.Time) {
	if err := w.target(t, len(line)); err != nil {
		w.failed.Add(1)
		w.fail(err)
		return
	}
	// Flush before bufio would: then a write error always concerns exactly
	// the lines counted in pending.
	if w.bw.Available() < len(line) && w.bw.Buffered() > 0 {
		if !w.flush() {
			w.failed.Add(1)
			return
		}
	}
	if _, err := w.bw.Write(line); err != nil {
		w.failed.Add(1)
		w.fail(fmt.Errorf("write access log %q: %w", w.f.Name(), err))
		return
	}
	w.pending++
	w.size += int64(len(line))
	w.lines++
}

// target makes sure the file for a line of n bytes at t is open, rolling
// over when the policy says so.
func (w *Writer) target(t time.Time, n int) error {
	switch w.opts.Rollover {
	case RolloverDaily:
		d := dayKey(t)
		// Only roll forward: a request that started before midnight and
		// completes after a later one stays in today's file rather than
		// reopening yesterday's.
		if w.f != nil && d > w.day {
			w.flush()
			w.closeFile()
		}
		if w.f == nil {
			if w.day > d {
				d = w.day
			}
			if err := w.openFile(dailyName(d), t); err != nil {
				return err
			}
			w.day = d
		}
	case RolloverSize:
		if w.f != nil && w.lines > 0 && w.size+int64(n) > w.opts.MaxSize {
			w.flush()
			w.closeFile()
			w.seq++
		}
		if w.f == nil {
			if w.seq == 0 {
				seq, err := w.lastSeq()
				if err != nil {
					return err
				}
				w.seq = seq
			}
			if err := w.openFile(extendName(w.seq), t); err != nil {
				return err
			}
		}
	default: // RolloverNone
		if w.f == nil {
			if err := w.openFile(extendName(1), t); err != nil {
				return err
			}
		}
	}
	return nil
}

// openFile opens name for appending and writes a header block, as IIS does
// for a new file and after every restart. #Date is the time of the line
// that opened the file, so that it always agrees with the file's name.
func (w *Writer) openFile(name string, t time.Time) error {
	path := filepath.Join(w.opts.Dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open access log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open access log: %w", err)
	}
	w.f = f
	w.bw.Reset(f)
	w.size = st.Size()
	w.lines = 0
	if w.opts.Format == FormatJSON {
		// JSON lines have no header: every line names its fields.
		return nil
	}
	w.hdr = appendHeader(w.hdr[:0], w.opts.Version, t, w.opts.Fields)
	if _, err := w.bw.Write(w.hdr); err != nil {
		w.closeFile()
		return fmt.Errorf("write access log %q: %w", path, err)
	}
	w.size += int64(len(w.hdr))
	return nil
}

// flush writes the buffered lines; it reports false and counts them as
// failed when the file refuses them.
func (w *Writer) flush() bool {
	if w.f == nil || w.bw.Buffered() == 0 {
		return true
	}
	if err := w.bw.Flush(); err != nil {
		w.failed.Add(w.pending)
		w.pending = 0
		w.fail(fmt.Errorf("write access log %q: %w", w.f.Name(), err))
		return false
	}
	w.written.Add(w.pending)
	w.pending = 0
	if w.lastErr != nil {
		events.Log(w.opts.Logger, slog.LevelInfo, events.EventAccessLogRecovered, "access log writable again",
			slog.String("dir", w.opts.Dir), slog.String("after", w.lastErr.Error()))
		w.lastErr = nil
	}
	return true
}

// fail records err, logs it once per failure streak, and drops the file so
// that the next line reopens it (the disk may come back).
func (w *Writer) fail(err error) {
	if w.closeErr == nil {
		w.closeErr = err
	}
	if w.lastErr == nil {
		events.Log(w.opts.Logger, slog.LevelError, events.EventAccessLogWriteFailed, "access log write failed; lines are being lost",
			slog.String("dir", w.opts.Dir), slog.String("err", err.Error()))
	}
	w.lastErr = err
	if w.f != nil {
		w.failed.Add(w.pending)
		w.pending = 0
		w.bw.Reset(nil)
		w.f.Close()
		w.f = nil
	}
}

func (w *Writer) closeFile() {
	if w.f == nil {
		return
	}
	if w.bw.Buffered() > 0 && !w.flush() {
		return // fail closed it
	}
	if err := w.f.Close(); err != nil && w.closeErr == nil {
		w.closeErr = fmt.Errorf("close access log %q: %w", w.f.Name(), err)
	}
	w.f = nil
	w.bw.Reset(nil)
}

// lastSeq returns the N to continue with after a restart: the highest N of
// the u_extendN.log files in Dir (1 if none), or the next one when that file
// is already full, so that a restart does not grow it further.
func (w *Writer) lastSeq() (int, error) {
	ents, err := os.ReadDir(w.opts.Dir)
	if err != nil {
		return 0, fmt.Errorf("open access log: %w", err)
	}
	seq := 1
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), "u_extend")
		if !ok {
			continue
		}
		n, ok = strings.CutSuffix(n, ".log")
		if !ok {
			continue
		}
		if v, err := strconv.Atoi(n); err == nil && v > seq {
			seq = v
		}
	}
	if st, err := os.Stat(filepath.Join(w.opts.Dir, extendName(seq))); err == nil && st.Size() >= w.opts.MaxSize {
		seq++
	}
	return seq, nil
}

func dayKey(t time.Time) int {
	y, m, d := t.UTC().Date()
	return y*10000 + int(m)*100 + d
}

// dailyName is IIS's UTF-8 daily name, u_exYYMMDD.log.
func dailyName(day int) string {
	b := make([]byte, 0, 16)
	b = append(b, "u_ex"...)
	b = appendPad(b, day/10000%100, 2)
	b = appendPad(b, day/100%100, 2)
	b = appendPad(b, day%100, 2)
	return string(append(b, ".log"...))
}

// extendName is IIS's UTF-8 size / unlimited name, u_extendN.log.
func extendName(seq int) string {
	return "u_extend" + strconv.Itoa(seq) + ".log"
}
