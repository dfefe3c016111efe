package revocation

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// diskCache keeps fetched CRLs and OCSP responses in a directory so that a
// restart, or cache-only mode, does not need the network. Each item is two
// files named by the SHA-256 of its key: <h>.der (the response exactly as
// fetched, so operators can inspect it with openssl) and <h>.json (the
// metadata, written last: an item without its .json is ignored). Both are
// written atomically (temporary file + rename), so a crash leaves the old
// item or the new one, never a torn file.
type diskCache struct {
	dir string
}

// diskMeta is the <h>.json sidecar.
type diskMeta struct {
	Kind      string    `json:"kind"` // "crl" or "ocsp"
	Key       string    `json:"key"`  // URL for CRLs; issuer key hash and serial for OCSP
	Source    string    `json:"source"`
	FetchedAt time.Time `json:"fetched_at"`
	// Validators of a fetched CRL, for a conditional refetch after a
	// restart or by another instance sharing the directory.
	Validators validators `json:"validators,omitzero"`
}

// diskItem is one loaded item.
type diskItem struct {
	meta diskMeta
	der  []byte
	path string
}

func diskName(kind, key string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + key))
	return hex.EncodeToString(h[:20])
}

func (d *diskCache) put(m diskMeta, der []byte) error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("write cache dir %q: %w", d.dir, err)
	}
	base := filepath.Join(d.dir, diskName(m.Kind, m.Key))
	if err := writeFileAtomic(base+".der", der); err != nil {
		return err
	}
	js, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("write cache %q: %w", base+".json", err)
	}
	return writeFileAtomic(base+".json", js)
}

// loadAll reads every complete item. Unreadable items are reported, not
// fatal: the cache is an optimisation, the network or local files remain.
func (d *diskCache) loadAll() ([]diskItem, []error) {
	ents, err := os.ReadDir(d.dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("read cache dir %q: %w", d.dir, err)}
	}
	var items []diskItem
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || e.IsDir() {
			continue
		}
		metaPath := filepath.Join(d.dir, name)
		js, err := os.ReadFile(metaPath)
		if err != nil {
			errs = append(errs, fmt.Errorf("read cache %q: %w", metaPath, err))
			continue
		}
		var m diskMeta
		if err := json.Unmarshal(js, &m); err != nil || m.Key == "" || (m.Kind != "crl" && m.Kind != "ocsp") {
			errs = append(errs, fmt.Errorf("read cache %q: not a certgate cache entry", metaPath))
			continue
		}
		derPath := strings.TrimSuffix(metaPath, ".json") + ".der"
		if diskName(m.Kind, m.Key)+".json" != name {
			errs = append(errs, fmt.Errorf("read cache %q: key does not match the file name", metaPath))
			continue
		}
		der, err := os.ReadFile(derPath)
		if err != nil {
			errs = append(errs, fmt.Errorf("read cache %q: %w", derPath, err))
			continue
		}
		items = append(items, diskItem{meta: m, der: der, path: derPath})
	}
	return items, errs
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so readers see the old or the new content only.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %q: %w", path, err)
	}
	return nil
}
