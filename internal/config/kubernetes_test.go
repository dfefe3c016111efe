package config

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// k8sObject is the part of a Kubernetes manifest the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Ports []struct {
			Name       string `yaml:"name"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		Template struct {
			Spec struct {
				Containers []struct {
					Args  []string `yaml:"args"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					ReadinessProbe k8sProbe `yaml:"readinessProbe"`
					LivenessProbe  k8sProbe `yaml:"livenessProbe"`
					VolumeMounts   []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
						ReadOnly  bool   `yaml:"readOnly"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// TestKubernetesManifests checks the example manifests of
// docs/kubernetes against the config they carry: the ConfigMap's
// certgate.yaml parses and validates; the Deployment starts certgate on
// it; every file the config names is under a mounted volume (the cache
// directory under a writable one); the container ports match listen and
// admin.listen; the probes use the admin listener's /readyz and
// /healthz; the Services target the named ports.
func TestKubernetesManifests(t *testing.T) {
	var objs []k8sObject
	files, _ := filepath.Glob("../../docs/kubernetes/*.yaml")
	if len(files) < 3 {
		t.Fatalf("docs/kubernetes has %d manifests", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs = append(objs, o)
		}
	}
	find := func(kind, name string) *k8sObject {
		for i := range objs {
			if objs[i].Kind == kind && objs[i].Metadata.Name == name {
				return &objs[i]
			}
		}
		t.Fatalf("no %s %q in docs/kubernetes", kind, name)
		return nil
	}
	cm, dep := find("ConfigMap", "certgate"), find("Deployment", "certgate")
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment: %d containers", len(dep.Spec.Template.Spec.Containers))
	}
	c := dep.Spec.Template.Spec.Containers[0]
	i := slices.Index(c.Args, "-c")
	if len(c.Args) < 3 || c.Args[0] != "serve" || i < 0 || i+1 >= len(c.Args) {
		t.Fatalf("container args %q: want serve -c FILE", c.Args)
	}
	cfgPath := c.Args[i+1]
	cfg, err := Parse([]byte(cm.Data[filepath.Base(cfgPath)]), cfgPath)
	if err != nil {
		t.Fatalf("the ConfigMap's %s: %v", filepath.Base(cfgPath), err)
	}

	mountOf := func(path string) (name string, readOnly, ok bool) {
		best := ""
		for _, m := range c.VolumeMounts {
			if (path == m.MountPath || strings.HasPrefix(path, m.MountPath+"/")) && len(m.MountPath) > len(best) {
				best, name, readOnly, ok = m.MountPath, m.Name, m.ReadOnly, true
			}
		}
		return name, readOnly, ok
	}
	if name, _, ok := mountOf(cfgPath); !ok || name != "config" {
		t.Errorf("%s is not on the config volume", cfgPath)
	}
	for _, f := range cfg.Files() {
		if _, _, ok := mountOf(f); !ok {
			t.Errorf("the config names %s, which no volume mounts", f)
		}
	}
	for _, s := range cfg.Sites {
		if d := s.ClientAuth.Revocation.CacheDir; d != "" {
			if _, ro, ok := mountOf(d); !ok || ro {
				t.Errorf("revocation.cache_dir %s is not on a writable volume", d)
			}
		}
	}

	port := func(name string) string {
		for _, p := range c.Ports {
			if p.Name == name {
				return strconv.Itoa(p.ContainerPort)
			}
		}
		t.Fatalf("container has no port named %s", name)
		return ""
	}
	for name, addr := range map[string]string{"https": cfg.Listen, "admin": cfg.Admin.Listen} {
		_, p, err := net.SplitHostPort(addr)
		if err != nil || p != port(name) {
			t.Errorf("container port %s is %s, the config listens on %s", name, port(name), addr)
		}
	}
	if g := c.ReadinessProbe.HTTPGet; g.Path != "/readyz" || g.Port != "admin" {
		t.Errorf("readiness probe %+v: want /readyz on admin", g)
	}
	if g := c.LivenessProbe.HTTPGet; g.Path != "/healthz" || g.Port != "admin" {
		t.Errorf("liveness probe %+v: want /healthz on admin", g)
	}
	services := 0
	for _, o := range objs {
		if o.Kind != "Service" {
			continue
		}
		services++
		for _, p := range o.Spec.Ports {
			port(p.TargetPort)
		}
	}
	if services < 2 {
		t.Errorf("%d Services, want the load-balanced one and the headless one", services)
	}
}
