// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The report's HTML page (see report.h): one file, nothing fetched at view time. The
 * charting library, the page's script and style are inlined, the aggregate goes in as a JSON
 * data block, and a Content-Security-Policy forbids every network request.
 */
#include "advice/report.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Whether @text contains "</@tag" in any case (which would end its element early). */
static int ends_element(const char *text, const char *tag)
{
	size_t tl = strlen(tag);

	for (const char *p = strstr(text, "</"); p; p = strstr(p + 2, "</"))
		if (!strncasecmp(p + 2, tag, tl))
			return 1;
	return 0;
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* JSON inside <script>: '<', '>' and '&' only occur in strings, where \uXXXX means the same. */
static void put_json(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("\\u003c", f);
		else if (*s == '>')
			fputs("\\u003e", f);
		else if (*s == '&')
			fputs("\\u0026", f);
		else
			fputc(*s, f);
	}
}

int stt_report_html(struct json_object *report, const struct stt_report_assets *a, char **html)
{
	const char *data;
	size_t len = 0;
	char *buf = NULL;
	FILE *f;

	if (ends_element(a->chart_js, "script") || ends_element(a->page_js, "script") ||
	    ends_element(a->chart_css, "style") || ends_element(a->page_css, "style"))
		return -EINVAL;
	data = json_object_to_json_string_ext(report, JSON_C_TO_STRING_PLAIN);
	if (!data)
		return -ENOMEM;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"generator\" content=\"stortune report\">\n"
	      "<title>stortune report</title>\n<style>\n",
	      f);
	fputs(a->chart_css, f);
	fputs("\n</style>\n<style>\n", f);
	fputs(a->page_css, f);
	fputs("\n</style>\n</head>\n<body>\n"
	      "<noscript>This report draws its tables and charts with the JavaScript inlined in "
	      "this file (nothing is fetched); enable JavaScript to see them. The figures are in "
	      "the data block below and in the results files.</noscript>\n"
	      "<main id=\"report\"></main>\n"
	      "<script type=\"application/json\" id=\"stt-data\">",
	      f);
	put_json(f, data);
	fputs("</script>\n<script>\n", f);
	fputs(a->chart_js, f);
	fputs("\n</script>\n<script>\n", f);
	fputs(a->page_js, f);
	fputs("\n</script>\n<footer id=\"licences\"><h2>Licences</h2>\n<p>The charts are drawn by ",
	      f);
	put_escaped(f, a->chart_name);
	fputs(", inlined in this page under its licence:</p>\n<pre class=\"licence\">", f);
	put_escaped(f, a->chart_license);
	fputs("</pre>\n</footer>\n</body>\n</html>\n", f);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	*html = buf;
	return 0;
}
