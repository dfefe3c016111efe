// Command backend is the plain-HTTP application that bench/proxied.sh puts
// behind nginx, HAProxy and certgate: every GET answers with -size bytes
// (200 by default, a small API response), every request body is read and
// discarded, and the answer to a request with a body says how many bytes
// arrived. It listens on loopback only.
package main

import (
	"bytes"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:28490", "listen address (loopback only)")
	size := flag.Int("size", 200, "bytes in each GET response body")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("backend: -addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		log.Fatalf("backend: -addr %q: only loopback addresses", *addr)
	}
	if *size < 0 || *size > 1<<30 {
		log.Fatalf("backend: -size %d: want 0..1GiB", *size)
	}
	body := bytes.Repeat([]byte("x"), *size)
	clen := strconv.Itoa(len(body))
	srv := &http.Server{
		Addr:              *addr,
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			h := w.Header()
			h["Content-Type"] = []string{"text/plain"}
			if n > 0 || r.Method == http.MethodPost || r.Method == http.MethodPut {
				w.Write([]byte(strconv.FormatInt(n, 10) + "\n"))
				return
			}
			h["Content-Length"] = []string{clen}
			w.Write(body)
		}),
	}
	log.Fatal(srv.ListenAndServe())
}
