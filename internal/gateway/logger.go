package gateway

import (
	"io"
	"log/slog"
	"os"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/events"
)

// NewLogger builds the event logger described by cfg.Log: text or JSON, at
// the configured level, to log.file (appended, created 0640) or to stderr.
// The returned close function closes the file, if any.
func NewLogger(cfg *config.Config, stderr io.Writer) (*slog.Logger, func() error, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		return nil, nil, cfg.FieldErr("log.level", err)
	}
	w, closeFn := stderr, func() error { return nil }
	if cfg.Log.File != "" {
		f, err := os.OpenFile(cfg.Log.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, nil, cfg.FieldErr("log.file", err)
		}
		w, closeFn = f, f.Close
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Log.Format == config.LogJSON {
		opts.ReplaceAttr = events.JSONDurations
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h), closeFn, nil
}
