package logs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IsLogName reports whether a file met while walking a directory is an
// access log: IIS's u_ex*.log, certgate's *.log, and their .gz.
func IsLogName(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".log") || strings.HasSuffix(n, ".log.gz")
}

// Expand turns files and directories into the list of files to read:
// files as given, directories walked for IsLogName files in name order
// (IIS names carry the date, so name order is time order). A path that does
// not exist, or a directory without logs, is an error that names it.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("logs: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && IsLogName(d.Name()) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("logs: walk %s: %w", p, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("logs: directory %s holds no *.log or *.log.gz file", p)
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}

// AnalyzeFiles reads every file (see Expand) into one report.
func AnalyzeFiles(paths []string, opts Options) (*Report, error) {
	a, err := NewAnalyzer(opts)
	if err != nil {
		return nil, err
	}
	files, err := Expand(paths)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := a.readFile(f); err != nil {
			return nil, err
		}
	}
	return a.Report(), nil
}

func (a *Analyzer) readFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	return a.Read(name, f)
}
