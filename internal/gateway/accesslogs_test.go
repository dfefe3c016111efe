package gateway

import (
	"testing"

	"github.com/certgate/certgate/internal/accesslog"
	"github.com/certgate/certgate/internal/config"
)

// TestAccessLogOptionsFromConfig: the config's access_log block becomes
// the writer's options field by field, and the two packages spell the
// rollover policies and defaults the same way (accesslog reads no config
// types, so nothing else ties them).
func TestAccessLogOptionsFromConfig(t *testing.T) {
	for _, p := range [][2]string{
		{config.RolloverDaily, accesslog.RolloverDaily},
		{config.RolloverSize, accesslog.RolloverSize},
		{config.RolloverNone, accesslog.RolloverNone},
	} {
		if p[0] != p[1] {
			t.Errorf("rollover spelled %q in config, %q in accesslog", p[0], p[1])
		}
	}
	if config.DefaultAccessLogBuffer != accesslog.DefaultBuffer || config.DefaultAccessLogMaxSize != accesslog.DefaultMaxSize {
		t.Errorf("defaults differ: config buffer %d max_size %d, accesslog %d %d",
			config.DefaultAccessLogBuffer, config.DefaultAccessLogMaxSize, accesslog.DefaultBuffer, accesslog.DefaultMaxSize)
	}
	got := accessLogOptions(&config.AccessLog{Dir: "/var/log/certgate", Rollover: config.RolloverSize, MaxSize: 1 << 20, Buffer: 16})
	want := accesslog.Options{Dir: "/var/log/certgate", Rollover: accesslog.RolloverSize, MaxSize: 1 << 20, Buffer: 16}
	if got.Dir != want.Dir || got.Rollover != want.Rollover || got.MaxSize != want.MaxSize || got.Buffer != want.Buffer {
		t.Errorf("accessLogOptions = %+v, want %+v", got, want)
	}
}
