package importer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzNginx runs the parser and the translation on arbitrary input (the
// main file, which may include inc.conf and conf.d/*.conf). Neither may
// panic or hang, and a config that parses must translate into output
// config.Parse accepts, or fail with an ordinary error.
func FuzzNginx(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "nginx", "*.conf"))
	more, _ := filepath.Glob(filepath.Join("testdata", "nginx", "conf.d", "*.conf"))
	for _, p := range append(seeds, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := mapNginxSource(map[string][]byte{
			"nginx.conf":       data,
			"inc.conf":         []byte("ssl_verify_client optional;\nssl_client_certificate ca.pem;\n"),
			"conf.d/a.conf":    []byte("server { listen 443 ssl; server_name a.example.test; }\n"),
			"conf.d/loop.conf": data,
		})
		_, err := nginxFrom(src, "nginx.conf", NginxOptions{Output: "c.yaml"})
		if errors.Is(err, ErrInvalidOutput) {
			t.Fatalf("translation produced an invalid config: %v", err)
		}
	})
}

// FuzzIIS runs the IIS translation on arbitrary applicationHost.config and
// netsh text: no panic, no hang, and output config.Parse accepts or an
// ordinary error.
func FuzzIIS(f *testing.F) {
	for _, p := range [][2]string{
		{"iis/applicationHost.config", "iis/netsh-sslcert.txt"},
		{"iis/e2e-applicationHost.config", "iis/e2e-netsh-sslcert.txt"},
	} {
		x, err := os.ReadFile(filepath.Join("testdata", p[0]))
		if err != nil {
			f.Fatal(err)
		}
		n, err := os.ReadFile(filepath.Join("testdata", p[1]))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(x, n)
	}
	f.Fuzz(func(t *testing.T, xml, netsh []byte) {
		_, err := IIS(xml, IISOptions{Netsh: netsh, Output: "c.yaml"})
		if errors.Is(err, ErrInvalidOutput) {
			t.Fatalf("translation produced an invalid config: %v", err)
		}
	})
}
