package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/certgate/certgate/internal/events"
)

// WatchFiles starts reloading whenever the config file or a file it names
// (config.Files) changes, until ctx is done: reload.watch. It returns once
// the watches are in place, or an error when none could be set up.
//
// Directories are watched, not files: tools replace a file by writing a
// new one and renaming it over the old (the old inode, and a watch on it,
// are gone), and Kubernetes updates a mounted Secret or ConfigMap by
// swapping the "..data" symlink of the mount directory, so the files
// change without an event on their own names. Changes are debounced: a
// tool rewriting a certificate and then its key triggers one reload, and
// the same validation as SIGHUP keeps the old config when the new one is
// broken (half-written files included). After each reload the watched set
// follows the new config.
func (r *Reloader) WatchFiles(ctx context.Context, debounce time.Duration) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config files: %w", err)
	}
	fw := &fileWatch{w: w, logger: r.logger, dirs: map[string]bool{}}
	if err := fw.sync(r.srv.Snapshot().Config.Files()); err != nil {
		w.Close()
		return err
	}
	go func() {
		defer w.Close()
		fw.run(ctx, debounce, func() {
			r.logger.Info("reloading configuration", "cause", "files changed", "changed", fw.takeChanged())
			_ = r.Reload() // logged by Reload
			if err := fw.sync(r.srv.Snapshot().Config.Files()); err != nil {
				events.Log(r.logger, slog.LevelWarn, events.EventReloadWatchFailed, "watch config files", slog.String("err", err.Error()))
			}
		})
	}()
	return nil
}

// fileWatch is the state of WatchFiles: which directories are watched
// and which names in them matter.
type fileWatch struct {
	w      *fsnotify.Watcher
	logger *slog.Logger
	// dirs are the watched directories.
	dirs map[string]bool
	// targets are the files whose change triggers a reload; whole
	// directories (a CRL directory) are in targetDirs.
	targets, targetDirs map[string]bool
	changed             []string
}

// sync watches the directories of files (and the directories among
// files themselves) and stops watching those no longer needed.
func (fw *fileWatch) sync(files []string) error {
	want := map[string]bool{}
	fw.targets, fw.targetDirs = map[string]bool{}, map[string]bool{}
	for _, f := range files {
		f = filepath.Clean(f)
		fw.targets[f] = true
		want[filepath.Dir(f)] = true
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			fw.targetDirs[f] = true
			want[f] = true
		}
	}
	var errs []error
	added := 0
	for d := range want {
		if fw.dirs[d] {
			added++
			continue
		}
		if err := fw.w.Add(d); err != nil {
			errs = append(errs, fmt.Errorf("watch %s: %w", d, err))
			continue
		}
		fw.dirs[d] = true
		added++
	}
	for d := range fw.dirs {
		if !want[d] {
			_ = fw.w.Remove(d)
			delete(fw.dirs, d)
		}
	}
	if added == 0 && len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, err := range errs {
		events.Log(fw.logger, slog.LevelWarn, events.EventReloadWatchFailed, "watch config files", slog.String("err", err.Error()))
	}
	return nil
}

// relevant reports whether an event concerns a file of the config.
func (fw *fileWatch) relevant(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	if fw.targets[name] || fw.targetDirs[filepath.Dir(name)] {
		return true
	}
	// Kubernetes' atomic update of a mounted volume: ..data (a symlink to
	// a timestamped directory) is replaced; the visible names are
	// symlinks through it and see no event of their own.
	return strings.HasPrefix(filepath.Base(name), "..")
}

func (fw *fileWatch) takeChanged() []string {
	c := fw.changed
	fw.changed = nil
	return c
}

// run waits for relevant events and calls reload debounce after the last
// one.
func (fw *fileWatch) run(ctx context.Context, debounce time.Duration, reload func()) {
	timer := time.NewTimer(debounce)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-fw.w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod || !fw.relevant(ev) {
				continue
			}
			if len(fw.changed) < 16 {
				fw.changed = append(fw.changed, ev.Name)
			}
			timer.Reset(debounce)
		case err, ok := <-fw.w.Errors:
			if !ok {
				return
			}
			events.Log(fw.logger, slog.LevelWarn, events.EventReloadWatchFailed, "watch config files", slog.String("err", err.Error()))
		case <-timer.C:
			reload()
		}
	}
}
