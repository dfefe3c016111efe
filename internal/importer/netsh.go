package importer

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
)

// netshBinding is one entry of `netsh http show sslcert`: an endpoint
// ("IP:port", "Hostname:port" or "Central Certificate Store") and its
// properties, each with the line it was on.
type netshBinding struct {
	kind     string // the key naming the endpoint: "IP:port", "Hostname:port", ...
	endpoint string // its value: "0.0.0.0:443", "intranet.contoso.com:443"
	line     int
	fields   []netshField
}

type netshField struct {
	key, value string
	line       int
}

func (b *netshBinding) get(key string) (netshField, bool) {
	for _, f := range b.fields {
		if strings.EqualFold(f.key, key) {
			return f, true
		}
	}
	return netshField{}, false
}

// netshEndpointKeys start a binding entry.
var netshEndpointKeys = []string{"IP:port", "Hostname:port", "Central Certificate Store", "Central Certificate Store:port", "IP:port (CCS)"}

const maxNetshBytes = 8 << 20

// parseNetsh reads the output of `netsh http show sslcert`: entries of
// "Key : Value" lines separated by blank lines, each starting with the
// endpoint key. Lines that are neither (the title, the dashes) are skipped.
func parseNetsh(name string, data []byte) ([]*netshBinding, error) {
	if len(data) > maxNetshBytes {
		return nil, fmt.Errorf("read %s: %d bytes is not netsh output", name, len(data))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	// netsh redirected by PowerShell is UTF-16; say so rather than find
	// nothing.
	if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
		return nil, fmt.Errorf("read %s: the file is UTF-16; save it as UTF-8 (netsh http show sslcert | Out-File -Encoding utf8 %s)", name, name)
	}
	var (
		out []*netshBinding
		cur *netshBinding
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			cur = nil
			continue
		}
		// "IP:port : 0.0.0.0:443": the key itself may contain ':', so split
		// at " : " (netsh pads keys with spaces before the colon).
		i := strings.Index(text, " : ")
		if i < 0 {
			if k, v, ok := strings.Cut(text, ":"); ok && strings.TrimSpace(v) == "" && cur != nil {
				cur.fields = append(cur.fields, netshField{key: strings.TrimSpace(k), line: line})
			}
			continue
		}
		key, value := strings.TrimSpace(text[:i]), strings.TrimSpace(text[i+3:])
		isEndpoint := false
		for _, k := range netshEndpointKeys {
			if strings.EqualFold(key, k) {
				isEndpoint = true
			}
		}
		if isEndpoint {
			cur = &netshBinding{kind: key, endpoint: value, line: line}
			out = append(out, cur)
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("parse %s:%d: %q outside a binding entry (want the output of `netsh http show sslcert`, whose entries start with IP:port or Hostname:port)", name, line, text)
		}
		cur.fields = append(cur.fields, netshField{key: key, value: value, line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("parse %s: no SSL certificate binding found (want the output of `netsh http show sslcert`)", name)
	}
	return out, nil
}

// matchNetsh finds the entry serving an IIS https binding: the SNI entry
// "host:port" when the binding has a host name and SNI, otherwise the
// "IP:port" entry (0.0.0.0 for "*").
func matchNetsh(entries []*netshBinding, ip, port, host string, sni bool) *netshBinding {
	if host != "" && sni {
		want := net.JoinHostPort(host, port)
		for _, e := range entries {
			if strings.EqualFold(e.kind, "Hostname:port") && strings.EqualFold(e.endpoint, want) {
				return e
			}
		}
	}
	ips := []string{ip}
	if ip == "*" || ip == "" {
		ips = []string{"0.0.0.0", "[::]"}
	}
	for _, e := range entries {
		if !strings.EqualFold(e.kind, "IP:port") {
			continue
		}
		for _, a := range ips {
			if e.endpoint == net.JoinHostPort(strings.Trim(a, "[]"), port) || e.endpoint == a+":"+port {
				return e
			}
		}
	}
	return nil
}
