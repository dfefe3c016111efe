package logs

import (
	"html/template"
	"io"
	"slices"
	"strconv"
	"time"
)

// WriteHTML renders r as one static page: the totals, and per failure class
// a bar chart of requests per hour as inline SVG. No script, no external
// resource: an admin can open it from a file share or attach it to a
// ticket.
func (r *Report) WriteHTML(w io.Writer) error {
	hours := r.hourRange()
	type bar struct {
		X, Y, W, H float64
		Label      string
	}
	type chart struct {
		Failure
		Width, Height float64
		Bars          []bar
		Max           int64
		First, Last   string
	}
	const width, height = 720.0, 120.0
	var charts []chart
	for _, f := range r.Failures {
		c := chart{Failure: f, Width: width, Height: height}
		for _, h := range hours {
			c.Max = max(c.Max, f.ByHour[h])
		}
		if len(hours) > 0 {
			c.First, c.Last = hours[0], hours[len(hours)-1]
			bw := width / float64(len(hours))
			for i, h := range hours {
				n := f.ByHour[h]
				bh := 0.0
				if c.Max > 0 {
					bh = height * float64(n) / float64(c.Max)
				}
				c.Bars = append(c.Bars, bar{X: float64(i) * bw, Y: height - bh, W: max(bw-1, 1), H: bh, Label: h + ": " + strconv.FormatInt(n, 10)})
			}
		}
		charts = append(charts, c)
	}
	return htmlTemplate.Execute(w, struct {
		*Report
		Charts    []chart
		StatusKey []string
	}{r, charts, sortedKeys(r.ByStatus)})
}

// hourRange lists every hour from the report's first to its last, so that
// an hour without requests shows as a gap rather than disappearing.
func (r *Report) hourRange() []string {
	if len(r.ByHour) == 0 {
		return nil
	}
	var keys []string
	for k := range r.ByHour {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	const layout = "2006-01-02 15:04"
	first, err1 := time.Parse(layout, keys[0])
	last, err2 := time.Parse(layout, keys[len(keys)-1])
	// A year of hours is 8760 bars: past that, draw only the hours seen.
	if err1 != nil || err2 != nil || last.Sub(first) > 366*24*time.Hour {
		return keys
	}
	var out []string
	for t := first; !t.After(last); t = t.Add(time.Hour) {
		out = append(out, t.Format(layout))
	}
	return out
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>certgate logs analyze</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:1em 2%;color:#222}
table{border-collapse:collapse}th,td{text-align:left;padding:2px 1em 2px 0}
td.n{text-align:right}
h2{margin-top:1.5em}
svg{background:#f6f6f6;display:block}
rect{fill:#c33}
.axis{color:#666;font-size:.9em}
</style>
</head>
<body>
<h1>Access log analysis</h1>
<table>
<tr><th>Files</th><td class="n">{{len .Files}}</td></tr>
<tr><th>Request lines</th><td class="n">{{.TotalLines}}</td></tr>
<tr><th>Malformed lines</th><td class="n">{{.MalformedLines}}</td></tr>
<tr><th>Counted (inside filters)</th><td class="n">{{.MatchedLines}}</td></tr>
</table>
<h2>By status</h2>
<table>
{{- range .StatusKey}}
<tr><td>{{.}}</td><td class="n">{{index $.ByStatus .}}</td></tr>
{{- end}}
</table>
{{- range .Charts}}
<h2 id="class-{{.Status}}-{{.Win32}}">{{.Status}} sc-win32-status {{.Win32}}{{with .Code}} {{.}}{{end}}: {{.Count}} requests</h2>
<p>{{.Heading}}{{with .Message}}. {{.}}{{end}}</p>
<svg width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="requests per hour">
{{- range .Bars}}
<rect x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" .H}}"><title>{{.Label}}</title></rect>
{{- end}}
</svg>
<p class="axis">{{.First}} to {{.Last}} (UTC), highest hour {{.Max}}</p>
{{- if .Causes}}
<p>Likely causes, most frequent first:</p>
<ol>
{{- range .Causes}}
<li>{{.}}</li>
{{- end}}
</ol>
{{- end}}
{{- if .NextSteps}}
<p>Next:</p>
<ul>
{{- range .NextSteps}}
<li><code>{{.}}</code></li>
{{- end}}
</ul>
{{- end}}
<table>
<tr><th>Top client IPs</th><th></th><th>Top paths</th><th></th></tr>
{{- range $i, $c := .TopClients}}
<tr><td>{{$c.Key}}</td><td class="n">{{$c.Count}}</td></tr>
{{- end}}
{{- range .TopPaths}}
<tr><td></td><td></td><td>{{.Key}}</td><td class="n">{{.Count}}</td></tr>
{{- end}}
</table>
{{- end}}
</body>
</html>
`))
