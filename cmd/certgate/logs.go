package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/certgate/certgate/internal/logs"
)

func newLogsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Read W3C access logs (IIS and certgate)",
	}
	cmd.AddCommand(newLogsAnalyzeCmd())
	return cmd
}

func newLogsAnalyzeCmd() *cobra.Command {
	var (
		asJSON       bool
		since, until string
		htmlPath     string
		opts         logs.Options
	)
	cmd := &cobra.Command{
		Use:   "analyze FILE|DIR...",
		Short: "Summarise W3C access logs: failures by sub-status and Win32 code, site, host, hour, client and path",
		Long: `Analyze reads IIS and certgate W3C extended logs (plain or gzip, files or
directories of *.log / *.log.gz such as IIS's LogFiles\W3SVC1\u_ex*.log),
honouring every #Fields directive, and counts requests per status.substatus,
per status.substatus and sc-win32-status, per site (s-sitename), host
(cs-host) and hour. For each failure class it lists the top client IPs and
paths, the likely causes and the command to run next, from the same
catalogue as 'certgate explain'. Lines that do not fit their #Fields are
counted as malformed and skipped.

403.7 is logged with sc-win32-status 5 (ERROR_ACCESS_DENIED) as IIS writes
it; older certgate logs carry 2148074254 (SEC_E_NO_CREDENTIALS). Both read
as the same failure.

Exit codes: 0 analysed, 2 a file could not be read or a flag is invalid.`,
		Example: `  certgate logs analyze /var/log/certgate
  certgate logs analyze --status 403.13 --since '2026-11-23 08:00' u_ex261123.log
  certgate logs analyze --json --site W3SVC1 C:\inetpub\logs\LogFiles
  certgate logs analyze --html report.html /var/log/certgate`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Since, err = parseLogTime("--since", since); err != nil {
				return err
			}
			if opts.Until, err = parseLogTime("--until", until); err != nil {
				return err
			}
			rep, err := logs.AnalyzeFiles(args, opts)
			if err != nil {
				return err
			}
			if htmlPath != "" {
				if err := writeHTMLReport(htmlPath, rep); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			return rep.WriteText(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON (total_lines, malformed_lines, by_status, by_status_win32, by_site, by_host, by_hour, failures)")
	f.StringVar(&since, "since", "", "count requests at or after this UTC time (2006-01-02, 2006-01-02 15:04 or RFC 3339)")
	f.StringVar(&until, "until", "", "count requests before this UTC time (same forms as --since)")
	f.StringVar(&opts.Site, "site", "", "count only this s-sitename (W3SVC1, or the site name)")
	f.StringVar(&opts.Status, "status", "", "count only this status (403) or status.substatus (403.13)")
	f.IntVar(&opts.Top, "top", 10, "client IPs and paths listed per failure class")
	f.StringVar(&htmlPath, "html", "", "also write a static HTML report with a per-hour chart of each failure class (inline SVG, no script)")
	return cmd
}

// parseLogTime reads a --since/--until value; W3C log times are UTC, so
// zone-less values are UTC too.
func parseLogTime(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateTime, "2006-01-02 15:04", "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: want 2006-01-02, 2006-01-02 15:04[:05] or RFC 3339 (UTC unless a zone is given)", flag, v)
}

// writeHTMLReport writes the HTML report to path, whole or not at all.
func writeHTMLReport(path string, rep *logs.Report) error {
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		return fmt.Errorf("logs analyze --html: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("logs analyze --html: %w", err)
	}
	return nil
}
