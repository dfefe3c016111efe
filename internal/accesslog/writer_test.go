package accesslog

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func openTest(t *testing.T, opts Options) *Writer {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Version == "" {
		opts.Version = "test"
	}
	w, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// logFile is a parsed log file: header blocks and entry lines.
type logFile struct {
	name    string
	headers [][]string // each block's directives
	lines   []string
}

func readLogs(t *testing.T, dir string) []logFile {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []logFile
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("stray file %s left in the log directory", e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lf := logFile{name: e.Name()}
		inHeader := false
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if l == "" {
				continue
			}
			if !strings.HasSuffix(l, "\n") {
				t.Errorf("%s: unterminated last line %q", e.Name(), l)
			}
			l = strings.TrimSuffix(l, "\n")
			if strings.HasPrefix(l, "#") {
				if !inHeader {
					lf.headers = append(lf.headers, nil)
				}
				inHeader = true
				lf.headers[len(lf.headers)-1] = append(lf.headers[len(lf.headers)-1], l)
				continue
			}
			inHeader = false
			if len(lf.headers) == 0 {
				t.Errorf("%s: line %q before any header", e.Name(), l)
			}
			lf.lines = append(lf.lines, l)
		}
		for _, h := range lf.headers {
			if len(h) != 4 || h[0] != "#Software: certgate test" || h[1] != "#Version: 1.0" ||
				!strings.HasPrefix(h[2], "#Date: ") || !strings.HasPrefix(h[3], "#Fields: ") {
				t.Errorf("%s: bad header block %q", e.Name(), h)
			}
		}
		out = append(out, lf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func totalLines(files []logFile) int {
	n := 0
	for _, f := range files {
		n += len(f.lines)
	}
	return n
}

func TestDailyRolloverAtMidnightUTC(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC))
	dir := t.TempDir()
	w := openTest(t, Options{Dir: dir, Now: clk.Now})

	w.Write(Entry{Method: "GET", URIStem: "/before", Status: 200})
	clk.Set(time.Date(2026, 11, 24, 0, 0, 1, 0, time.UTC))
	w.Write(Entry{Method: "GET", URIStem: "/after", Status: 200})
	// A request that completed before midnight but was queued after the
	// rollover stays in the newer file: the writer never reopens yesterday.
	w.Write(Entry{Time: time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC), Method: "GET", URIStem: "/late", Status: 200})
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	files := readLogs(t, dir)
	if len(files) != 2 || files[0].name != "u_ex261123.log" || files[1].name != "u_ex261124.log" {
		t.Fatalf("files = %v, want u_ex261123.log and u_ex261124.log", files)
	}
	if got := files[0].headers[0][2]; got != "#Date: 2026-11-23 23:59:59" {
		t.Errorf("first file %s", got)
	}
	if got := files[1].headers[0][2]; got != "#Date: 2026-11-24 00:00:01" {
		t.Errorf("second file %s", got)
	}
	if len(files[0].lines) != 1 || !strings.Contains(files[0].lines[0], " /before ") {
		t.Errorf("first file lines = %q", files[0].lines)
	}
	if len(files[1].lines) != 2 || !strings.Contains(files[1].lines[0], " /after ") || !strings.Contains(files[1].lines[1], " /late ") {
		t.Errorf("second file lines = %q", files[1].lines)
	}
}

func TestDailyLocalZoneRollsOnUTC(t *testing.T) {
	// 00:30 in UTC+2 is still 22:30 the previous day in UTC: IIS rolls W3C
	// logs on UTC midnight (localTimeRollover false).
	clk := newClock(time.Date(2026, 11, 24, 0, 30, 0, 0, time.FixedZone("EET", 2*3600)))
	dir := t.TempDir()
	w := openTest(t, Options{Dir: dir, Now: clk.Now})
	w.Write(Entry{Method: "GET", URIStem: "/", Status: 200})
	w.Close()
	files := readLogs(t, dir)
	if len(files) != 1 || files[0].name != "u_ex261123.log" {
		t.Fatalf("files = %v, want u_ex261123.log", files)
	}
}

func TestReopenAppendsHeaderBlock(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		w := openTest(t, Options{Dir: dir, Now: clk.Now})
		w.Write(Entry{Method: "GET", URIStem: "/", Status: 200})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(time.Hour))
	}
	files := readLogs(t, dir)
	if len(files) != 1 || len(files[0].headers) != 2 || len(files[0].lines) != 2 {
		t.Fatalf("after two runs: %+v, want one file with two header blocks and two lines", files)
	}
	if files[0].headers[1][2] != "#Date: 2026-11-23 09:00:00" {
		t.Errorf("second block %s", files[0].headers[1][2])
	}
}

func TestNoTrafficNoFile(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, Options{Dir: dir})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if files := readLogs(t, dir); len(files) != 0 {
		t.Errorf("files = %v, want none: a restart without traffic must not add a header block", files)
	}
}

func TestSizeRollover(t *testing.T) {
	clk := newClock(at)
	e := baseEntry()
	lineLen := int64(len(AppendLine(nil, &e)))
	hdrLen := int64(len(appendHeader(nil, "test", at, nil)))
	dir := t.TempDir()
	// Room for the header and two lines.
	maxSize := hdrLen + 2*lineLen
	w := openTest(t, Options{Dir: dir, Now: clk.Now, Rollover: RolloverSize, MaxSize: maxSize})
	for i := 0; i < 5; i++ {
		w.Write(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := readLogs(t, dir)
	names := []string{}
	for _, f := range files {
		names = append(names, f.name)
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > maxSize {
			t.Errorf("%s is %d bytes, max %d", f.name, st.Size(), maxSize)
		}
	}
	if strings.Join(names, ",") != "u_extend1.log,u_extend2.log,u_extend3.log" {
		t.Fatalf("files = %v, want u_extend1..3.log", names)
	}
	if totalLines(files) != 5 {
		t.Errorf("lines = %d, want 5", totalLines(files))
	}

	// A restart continues after the last file; u_extend3.log has room for
	// one more line, then u_extend4.log starts.
	w = openTest(t, Options{Dir: dir, Now: clk.Now, Rollover: RolloverSize, MaxSize: maxSize + hdrLen})
	w.Write(e)
	w.Write(e)
	w.Close()
	files = readLogs(t, dir)
	if len(files) != 4 {
		t.Fatalf("after restart: %d files, want 4", len(files))
	}
	if f := files[2]; f.name != "u_extend3.log" || len(f.headers) != 2 || len(f.lines) != 2 {
		t.Errorf("u_extend3.log after restart: %d header blocks, %d lines; want 2 and 2", len(f.headers), len(f.lines))
	}
	if f := files[3]; f.name != "u_extend4.log" || len(f.lines) != 1 {
		t.Errorf("%s: %d lines, want u_extend4.log with 1", f.name, len(f.lines))
	}
}

func TestSizeRolloverRestartSkipsFullFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "u_extend7.log"), bytes.Repeat([]byte("x"), 100), 0o640); err != nil {
		t.Fatal(err)
	}
	w := openTest(t, Options{Dir: dir, Rollover: RolloverSize, MaxSize: 100})
	w.Write(baseEntry())
	w.Close()
	if _, err := os.Stat(filepath.Join(dir, "u_extend8.log")); err != nil {
		t.Errorf("want the line in u_extend8.log: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "u_extend7.log"))
	if len(b) != 100 {
		t.Errorf("full u_extend7.log grew to %d bytes", len(b))
	}
}

func TestRolloverNone(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC))
	dir := t.TempDir()
	w := openTest(t, Options{Dir: dir, Now: clk.Now, Rollover: RolloverNone})
	w.Write(Entry{Method: "GET", URIStem: "/", Status: 200})
	clk.Set(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	w.Write(Entry{Method: "GET", URIStem: "/", Status: 200})
	w.Close()
	files := readLogs(t, dir)
	if len(files) != 1 || files[0].name != "u_extend1.log" || len(files[0].lines) != 2 {
		t.Fatalf("files = %+v, want u_extend1.log with 2 lines", files)
	}
}

func TestCloseDrains(t *testing.T) {
	dir := t.TempDir()
	const n = 5000
	w := openTest(t, Options{Dir: dir, Buffer: n})
	for i := 0; i < n; i++ {
		w.Write(baseEntry())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := totalLines(readLogs(t, dir)); got != n {
		t.Errorf("lines after Close = %d, want %d", got, n)
	}
	if w.Dropped() != 0 || w.Written() != n {
		t.Errorf("Dropped = %d, Written = %d; want 0 and %d", w.Dropped(), w.Written(), n)
	}
	// Write after Close is counted, never a panic.
	w.Write(baseEntry())
	if w.Dropped() != 1 {
		t.Errorf("Dropped after a write to a closed writer = %d, want 1", w.Dropped())
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	const workers, per = 4, 500
	w := openTest(t, Options{Dir: dir, Buffer: workers * per})
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				w.Write(baseEntry())
			}
		}()
	}
	wg.Wait()
	w.Close()
	if got := totalLines(readLogs(t, dir)); got != workers*per {
		t.Errorf("lines = %d, want %d", got, workers*per)
	}
}

func TestFlushWritesQueuedLines(t *testing.T) {
	dir := t.TempDir()
	w := openTest(t, Options{Dir: dir, FlushInterval: time.Hour})
	w.Write(baseEntry())
	w.Write(baseEntry())
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := totalLines(readLogs(t, dir)); got != 2 {
		t.Errorf("lines after Flush = %d, want 2", got)
	}
	w.Close()
	if err := w.Flush(); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}
}

func TestWriteFailureIsCountedAndRecovers(t *testing.T) {
	clk := newClock(at)
	base := t.TempDir()
	dir := filepath.Join(base, "logs")
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logBuf, mu: &logMu}, nil))
	w := openTest(t, Options{Dir: dir, Now: clk.Now, Logger: logger})

	// The directory disappears (unmounted volume): lines are lost, counted
	// and reported once.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	w.Write(baseEntry())
	w.Write(baseEntry())
	err := w.Flush()
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Flush error = %v, want a not-exist error", err)
	}
	if w.Failed() != 2 {
		t.Errorf("Failed = %d, want 2", w.Failed())
	}

	// It comes back: the next line reopens the file with a header.
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	w.Write(baseEntry())
	if err := w.Flush(); err != nil {
		t.Errorf("Flush after recovery: %v", err)
	}
	w.Close()
	if got := totalLines(readLogs(t, dir)); got != 1 {
		t.Errorf("lines = %d, want 1", got)
	}
	logMu.Lock()
	out := logBuf.String()
	logMu.Unlock()
	// One access_log_write_failed (Error) per failure streak, then one
	// access_log_recovered (Info), both naming the directory.
	failed := `"level":"ERROR","msg":"access log write failed; lines are being lost","event":"access_log_write_failed","dir":` + strconv.Quote(dir)
	recovered := `"level":"INFO","msg":"access log writable again","event":"access_log_recovered","dir":` + strconv.Quote(dir)
	if strings.Count(out, failed) != 1 || strings.Count(out, recovered) != 1 {
		t.Errorf("log = %q, want one access_log_write_failed and one access_log_recovered event", out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		is   error
		text string
	}{
		{"no dir", Options{}, ErrNoDir, "open access log"},
		{"bad rollover", Options{Dir: t.TempDir(), Rollover: "hourly"}, ErrInvalidRollover, `"hourly"`},
		{"dir is a file", Options{Dir: filepath.Join(file, "sub")}, nil, file},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Open(tt.opts)
			if err == nil {
				w.Close()
				t.Fatal("Open succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %q, want it to mention %q", err, tt.text)
			}
		})
	}
}

func TestNilWriter(t *testing.T) {
	var w *Writer
	w.Write(baseEntry())
	if w.Dropped() != 0 || w.Flush() != nil || w.Close() != nil || w.Dir() != "" {
		t.Error("nil Writer must discard silently")
	}
}
