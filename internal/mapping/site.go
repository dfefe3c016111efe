package mapping

import (
	"errors"
	"strconv"
	"strings"

	"github.com/certgate/certgate/internal/config"
)

// CompileSite compiles the mapping block of cfg.Sites[i] (which went
// through config.Load, so its paths are resolved) and anchors errors in the
// config file: "certgate.yaml:31: sites[0].mapping.one_to_one[2].cert: ...".
// A site without a mapping block gets a Mapper that maps nothing and
// requires nothing. The gateway snapshot and `certgate map` both call it.
func CompileSite(cfg *config.Config, i int) (*Mapper, error) {
	m, err := Compile(cfg.Sites[i].Mapping, "")
	if err == nil {
		return m, nil
	}
	prefix := "sites[" + strconv.Itoa(i) + "]."
	var out []error
	for _, e := range flatten(err) {
		var fe *config.FieldError
		if errors.As(e, &fe) && strings.HasPrefix(fe.Path, "mapping") {
			out = append(out, cfg.FieldErr(prefix+fe.Path, fe.Err))
			continue
		}
		out = append(out, cfg.FieldErr(prefix+"mapping", e))
	}
	return nil, errors.Join(out...)
}

// flatten unpacks errors.Join trees.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
