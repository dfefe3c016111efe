package revocation

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// diskWriterEnv makes the test binary a cache writer (see
// TestDiskCacheSharedByProcesses).
const diskWriterEnv = "CERTGATE_TEST_DISK_WRITER"

// diskVersions are the contents two writers alternate: distinct sizes,
// so that a torn file could not pass for either.
func diskVersions() [][]byte {
	return [][]byte{bytes.Repeat([]byte{0xA1}, 4096), bytes.Repeat([]byte{0xB2}, 70000)}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(diskWriterEnv); dir != "" {
		os.Exit(runDiskWriter(dir))
	}
	os.Exit(m.Run())
}

// runDiskWriter writes the same cache item over and over, alternating
// the two versions, for a bounded count.
func runDiskWriter(dir string) int {
	d := &diskCache{dir: dir}
	v := diskVersions()
	for i := range 300 {
		der := v[i%2]
		m := diskMeta{Kind: "crl", Key: "http://ca.test/sub.crl", Source: "http://ca.test/sub.crl",
			FetchedAt: time.Unix(int64(len(der)), 0).UTC(), Validators: validators{ETag: strconv.Quote(strconv.Itoa(len(der)))}}
		if err := d.put(m, der); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// TestDiskCacheSharedByProcesses: two processes keep rewriting the same
// item of one cache_dir while this one reads it: every read is a whole
// version (no torn .der, no half-written .json), as instances sharing a
// cache directory need.
func TestDiskCacheSharedByProcesses(t *testing.T) {
	dir := t.TempDir()
	var writers []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), diskWriterEnv+"="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		writers = append(writers, cmd)
	}
	done := make(chan error, len(writers))
	for _, w := range writers {
		go func() { done <- w.Wait() }()
	}
	d := &diskCache{dir: dir}
	v := diskVersions()
	reads, finished := 0, 0
	deadline := time.Now().Add(60 * time.Second)
	for finished < len(writers) && time.Now().Before(deadline) {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("writer process: %v", err)
			}
			finished++
		default:
		}
		items, errs := d.loadAll()
		for _, err := range errs {
			t.Fatalf("read while written: %v", err)
		}
		for _, it := range items {
			reads++
			if !bytes.Equal(it.der, v[0]) && !bytes.Equal(it.der, v[1]) {
				t.Fatalf("read %d bytes that are neither version: a torn file", len(it.der))
			}
			if it.meta.Key != "http://ca.test/sub.crl" {
				t.Fatalf("metadata %+v", it.meta)
			}
		}
	}
	if finished < len(writers) {
		t.Fatal("writers did not finish within 60s")
	}
	if reads == 0 {
		t.Fatal("no item was read while the writers ran")
	}
}
