package config

// Mapping is the per-site certificate-to-user mapping (issue 4). The
// mapping owner fills in the rule types; until then it only carries Required.
type Mapping struct {
	Required bool `yaml:"required"`
}
