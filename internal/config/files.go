package config

// Files lists every file and directory the config names that a reload
// reads again: the config file itself, server certificates and keys, trust
// roots and intermediates, issuer-list sources, local CRL files and
// directories, one-to-one mapping certificates and session-ticket keys.
// Paths are as resolved by ApplyDefaults; each appears once, in config
// order. Log files, access-log directories and the revocation cache are
// written, not read, and are not listed.
func (c *Config) Files() []string {
	var out []string
	seen := map[string]bool{}
	add := func(ps ...string) {
		for _, p := range ps {
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	add(c.Path)
	add(c.SessionTickets.Keys...)
	for i := range c.Sites {
		s := &c.Sites[i]
		add(s.Certificate.Cert, s.Certificate.Key)
		add(s.ClientAuth.Trust.Roots...)
		add(s.ClientAuth.Trust.Intermediates...)
		add(s.ClientAuth.IssuerList.Source...)
		add(s.ClientAuth.Revocation.CRLs...)
		if s.Mapping != nil {
			for _, o := range s.Mapping.OneToOne {
				add(o.Cert)
			}
		}
	}
	return out
}
