// Command tlsload is the load generator for what ../shared/bench's loadgen
// does not do: TLS 1.3 session resumption and HTTP/2.
//
//	-mode resumed    each worker connects, completes a TLS 1.3 mTLS handshake
//	                 offering the session ticket of its previous connection,
//	                 sends one GET with "Connection: close", reads the answer
//	                 and closes
//	-mode handshake  the same without a session cache: every handshake is full
//	                 (as loadgen -mode handshake)
//	-mode h2         each worker keeps one HTTP/2 connection (ALPN h2) and sends
//	                 sequential GETs on it
//
// It reports the server's CPU per request (utime+stime of -server-pid and
// its child processes, from /proc) and how many handshakes resumed.
// Loopback targets only. The last line is machine readable, in loadgen's
// format:
//
//	RESULT {"label":...,"mode":"resumed","rps":...,"server_us_per_req":...}
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "target host:port (loopback only)")
	pkiDir := flag.String("pki", "", "harness PKI dir: client-chain.pem, client.key, server.pem (pinned)")
	conc := flag.Int("c", 16, "workers, each with its own session cache")
	dur := flag.Duration("d", 5*time.Second, "measured duration (at most 10m)")
	warm := flag.Duration("warmup", time.Second, "warm-up, not counted (at most 1m)")
	mode := flag.String("mode", "resumed", "resumed | handshake | h2")
	label := flag.String("label", "", "label for the RESULT line")
	srvPID := flag.Int("server-pid", 0, "report the CPU of this PID and its children")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Fatalf("tlsload: -addr %q: loopback host:port only", *addr)
	}
	if *mode != "resumed" && *mode != "handshake" && *mode != "h2" {
		log.Fatalf("tlsload: -mode %q: want resumed, handshake or h2", *mode)
	}
	if *dur <= 0 || *dur > 10*time.Minute || *warm < 0 || *warm > time.Minute || *conc < 1 || *conc > 4096 {
		log.Fatal("tlsload: -d in (0, 10m], -warmup in [0, 1m], -c in [1, 4096]")
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(*pkiDir, "client-chain.pem"), filepath.Join(*pkiDir, "client.key"))
	if err != nil {
		log.Fatalf("tlsload: client certificate: %v", err)
	}
	pin, err := os.ReadFile(filepath.Join(*pkiDir, "server.pem"))
	if err != nil {
		log.Fatalf("tlsload: server pin: %v", err)
	}
	pb, _ := pem.Decode(pin)
	if pb == nil {
		log.Fatalf("tlsload: %s: no PEM block", filepath.Join(*pkiDir, "server.pem"))
	}
	base := &tls.Config{
		ServerName: "localhost", MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13,
		CurvePreferences: []tls.CurveID{tls.X25519}, Certificates: []tls.Certificate{cert},
		// The server is checked against its pinned leaf, cheaply, so that
		// the load generator's CPU goes into handshakes; the server's
		// CertificateVerify is still checked by crypto/tls.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 && !cs.DidResume && string(cs.PeerCertificates[0].Raw) != string(pb.Bytes) {
				return errors.New("server certificate is not the pinned server.pem")
			}
			return nil
		},
	}

	var measuring atomic.Bool
	var ok, fails, resumed atomic.Int64
	var firstErr atomic.Pointer[string]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range *conc {
		cfg := base.Clone()
		if *mode == "resumed" {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		}
		do := func() (bool, error) { return once(*addr, cfg) }
		if *mode == "h2" {
			do = h2Client(*addr, cfg)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := do()
				if !measuring.Load() {
					continue
				}
				if err != nil {
					fails.Add(1)
					s := err.Error()
					firstErr.CompareAndSwap(nil, &s)
					continue
				}
				ok.Add(1)
				if r {
					resumed.Add(1)
				}
			}
		}()
	}
	time.Sleep(*warm)
	cpu0 := cpuTicks(*srvPID)
	t0 := time.Now()
	measuring.Store(true)
	time.Sleep(*dur)
	measuring.Store(false)
	elapsed := time.Since(t0)
	cpu1 := cpuTicks(*srvPID)
	close(stop)
	wg.Wait()

	res := map[string]any{
		"label": *label, "addr": *addr, "mode": *mode, "conc": *conc, "duration_s": elapsed.Seconds(),
		"ok": ok.Load(), "errors": fails.Load(), "resumed": resumed.Load(), "rps": float64(ok.Load()) / elapsed.Seconds(),
	}
	if p := firstErr.Load(); p != nil {
		res["first_error"] = *p
	}
	if *srvPID > 0 && ok.Load() > 0 {
		secs := float64(cpu1-cpu0) / 100 // USER_HZ
		res["server_cpu_pct"] = 100 * secs / elapsed.Seconds()
		res["server_us_per_req"] = 1e6 * secs / float64(ok.Load())
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
}

// once makes one connection, one request; it reports whether the
// handshake resumed.
func once(addr string, cfg *tls.Config) (bool, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false, err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(raw, cfg)
	if err := c.Handshake(); err != nil {
		return false, err
	}
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench-tlsload\r\nConnection: close\r\n\r\n"); err != nil {
		return false, err
	}
	// Reading to the end also receives the TLS 1.3 session ticket, which
	// the server sends after the handshake.
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		return false, err
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200") {
		return false, fmt.Errorf("status %q", strings.TrimSpace(status))
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return false, err
	}
	return c.ConnectionState().DidResume, nil
}

// h2Client returns a request function on one HTTP/2 connection of its own
// (a Transport per worker); it reports whether the connection's handshake
// resumed.
func h2Client(addr string, cfg *tls.Config) func() (bool, error) {
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return func() (bool, error) {
		resp, err := client.Get("https://localhost/")
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return false, err
		}
		if resp.ProtoMajor != 2 {
			return false, fmt.Errorf("server answered %s, not HTTP/2 (ALPN)", resp.Proto)
		}
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("status %s", resp.Status)
		}
		return resp.TLS.DidResume, nil
	}
}

// cpuTicks returns utime+stime of pid and of its children, in clock ticks.
func cpuTicks(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	total := int64(0)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name: state ppid ... utime(14) stime(15).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if p != pid && ppid != pid {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += u + st
	}
	return total
}
