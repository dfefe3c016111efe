package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/doctor"
)

func newExplainCmd() *cobra.Command {
	var (
		asJSON bool
		fields string
	)
	cmd := &cobra.Command{
		Use:   "explain THING",
		Short: "Explain a sub-status, a Win32 code, Schannel event 36885 or a W3C log line",
		Long: `Explain prints what THING means, its likely causes (most frequent first)
and the commands to run next. THING is one of:

  a sub-status          403.16, 403.7
  a Win32-style code    2148204809, 0x800B0109, CERT_E_UNTRUSTEDROOT, -2146762487
  a Windows event ID    36885 (Schannel: issuer list truncated)
  W3C log text          a quoted access-log line, or several lines with their
                        #Fields directive; "-" reads it from standard input

Exit codes: 0 explained, 2 THING not understood.`,
		Example: `  certgate explain 403.16
  certgate explain 0x800b0109
  certgate explain '2030-01-02 10:00:00 127.0.0.1 GET / - 8443 - 127.0.0.1 curl/8.0 - 403 16 2148204809 3'
  tail -n 20 access.log | certgate explain -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			thing := strings.Join(args, " ")
			if thing == "-" {
				data, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 16<<20))
				if err != nil {
					return fmt.Errorf("read standard input: %w", err)
				}
				thing = string(data)
			}
			opts := doctor.ExplainOptions{}
			if fields != "" {
				opts.Fields = strings.Fields(strings.TrimPrefix(strings.TrimSpace(fields), "#Fields:"))
			}
			es, err := doctor.Explain(thing, opts)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), es)
			}
			return doctor.WriteExplanations(cmd.OutOrStdout(), es)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (an array with one explanation per thing or log line)")
	cmd.Flags().StringVar(&fields, "fields", "", "W3C #Fields order for log lines without their own directive (default: certgate's access-log order)")
	return cmd
}

// writeJSON prints v as indented JSON; shared by the doctor commands.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// findings turns "the report has findings / was rejected" into exit code 1
// after the report has been printed. The message goes to stderr.
func findings(format string, args ...any) error {
	return &exitError{code: 1, err: fmt.Errorf(format, args...)}
}
