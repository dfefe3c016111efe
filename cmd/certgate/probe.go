package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newProbeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "probe",
		Short: "probe (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("probe: not yet available in this build")
		},
	}
}
