//go:build unix

package accesslog

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestFullBufferDropsAndCounts stalls the disk for real: the log file is a
// FIFO nobody reads yet, so the writer goroutine blocks opening it, the way
// it would on a hung NFS mount. Write must keep returning, and drop and
// count what does not fit in the buffer.
func TestFullBufferDropsAndCounts(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, dailyName(dayKey(at)))
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	var onDrop atomic.Int64
	const buffer = 4
	w := openTest(t, Options{Dir: dir, Buffer: buffer, OnDrop: func() { onDrop.Add(1) }})

	w.Write(baseEntry())
	// Wait until the goroutine has taken that line and is stuck opening
	// the FIFO: the queue is then empty and stays so.
	for w.queued() != 0 {
		runtime.Gosched()
	}
	for i := 0; i < buffer+3; i++ {
		w.Write(baseEntry())
	}
	if w.Dropped() != 3 || onDrop.Load() != 3 {
		t.Errorf("Dropped = %d, OnDrop calls = %d; want 3 and 3", w.Dropped(), onDrop.Load())
	}

	// The disk answers again: everything queued arrives, nothing else.
	lines := make(chan int, 1)
	go func() {
		r, err := os.Open(fifo)
		if err != nil {
			lines <- -1
			return
		}
		defer r.Close()
		n := 0
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if len(sc.Bytes()) > 0 && sc.Bytes()[0] != '#' {
				n++
			}
		}
		lines <- n
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-lines; got != 1+buffer {
		t.Errorf("lines = %d, want %d (the one being written and a full buffer)", got, 1+buffer)
	}
}

// TestFullBufferByteBound: the queue also holds at most Buffer KiB of
// lines, so that Buffer lines of a megabyte each cannot pile up in memory;
// a line longer than that is still logged when the queue is empty.
func TestFullBufferByteBound(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, dailyName(dayKey(at)))
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	const buffer = 4 // lines, and 4 KiB
	w := openTest(t, Options{Dir: dir, Buffer: buffer})
	w.Write(baseEntry())
	for w.queued() != 0 {
		runtime.Gosched()
	}
	long := func(n int) Entry {
		e := baseEntry()
		e.UserAgent = strings.Repeat("a", n)
		return e
	}
	w.Write(long(6000)) // more than 4 KiB, but the queue is empty: kept
	w.Write(long(100))  // the queue holds 6 KB already: dropped
	if w.Dropped() != 1 || w.queued() != 1 {
		t.Fatalf("Dropped = %d, queued = %d; want 1 and 1", w.Dropped(), w.queued())
	}

	lines := make(chan []int, 1)
	go func() {
		r, err := os.Open(fifo)
		if err != nil {
			lines <- nil
			return
		}
		defer r.Close()
		var lens []int
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if len(sc.Bytes()) > 0 && sc.Bytes()[0] != '#' {
				lens = append(lens, len(sc.Bytes()))
			}
		}
		lines <- lens
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-lines; len(got) != 2 || got[1] < 6000 {
		t.Errorf("line lengths %v, want the first line and the 6000-byte one", got)
	}
}
