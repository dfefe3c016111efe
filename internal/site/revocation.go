package site

import (
	"slices"

	"github.com/certgate/certgate/internal/config"
	"github.com/certgate/certgate/internal/revocation"
)

// RevocationOptions converts a site's revocation block into the options
// of internal/revocation, which knows nothing of the config schema. Paths
// are used as given (config.Load resolves them against the config file);
// Logger, HTTPClient, Now, Issuers and OnFetch are left for the caller.
// on_unavailable is not an option of the checker: what Unknown means is
// the verifier's policy (verify.Options.AllowUnavailableRevocation).
func RevocationOptions(rc config.Revocation) (revocation.Options, error) {
	mode, err := revocation.ParseMode(rc.Mode)
	if err != nil {
		return revocation.Options{}, err
	}
	o := revocation.Options{
		Mode:          mode,
		Prefer:        rc.Prefer,
		LocalCRLs:     slices.Clone([]string(rc.CRLs)),
		MaxAge:        rc.MaxAge,
		Timeout:       rc.Timeout,
		MaxBytes:      rc.MaxBytes,
		CacheDir:      rc.CacheDir,
		AllowHosts:    slices.Clone(rc.AllowHosts),
		MaxConcurrent: rc.MaxConcurrent,
		FetchProxy:    rc.FetchProxy,
	}
	if err := o.Validate(); err != nil {
		return revocation.Options{}, err
	}
	return o, nil
}
