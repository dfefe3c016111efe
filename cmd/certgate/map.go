package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// TODO(owner): replace this placeholder with the real command.
func newMapCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "map",
		Short: "map (not yet available)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("map: not yet available in this build")
		},
	}
}
