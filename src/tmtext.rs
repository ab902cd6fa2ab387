//! Trackmania `$`-code formatted text (nicknames, event and server names).
//!
//! Two renderings are offered:
//!
//! * [`plain`] strips every formatting code and returns the visible text.
//! * [`html`] renders colours, styles and links as HTML that is safe to
//!   inject into a page: every `<`, `>`, `&`, `"` and `'` coming from the
//!   input is escaped, in text as well as in attribute values.
//!
//! # The `$` language
//!
//! | Code | Meaning |
//! |---|---|
//! | `$RGB` | colour: 1–3 hex digits, greedy; missing digits are padded with `f` |
//! | `$o` `$i` `$w` `$n` `$t` `$s` | toggle bold / italic / wide / narrow / upper-case / shadow |
//! | `$m` | normal width (clears wide and narrow) |
//! | `$g` | default colour |
//! | `$z` | reset all styles and the colour (links are not affected) |
//! | `$$` | a literal `$` |
//! | `$l[url]`, `$l`, `$h[..]`, `$p[..]` | links (see below) |
//!
//! Code letters are case-insensitive. Unknown codes are dropped together with
//! their `$`; a lone `$` at the very end of the input is kept as text.
//!
//! Links: a link code followed by `[` opens a link whose target is the
//! bracketed text (never shown; an unterminated bracket swallows the rest of
//! the input). A link code without `[` closes the open link, or, if none is
//! open, opens a link whose target is its own text (`$ltext$l`). A link that
//! is never closed ends at the end of the input.
//!
//! # HTML format
//!
//! The output is a flat sequence of runs, one per stretch of text with
//! identical formatting and link. A run with formatting becomes
//! `<span style="...">text</span>`; a run without any formatting is emitted
//! as bare escaped text (never an unstyled `<span>`). CSS declarations are
//! joined by `;` in the fixed order bold, italic, wide, narrow, upper-case,
//! shadow, colour. Runs belonging to a `$l` link whose target is an
//! `http(s)` URL (`https://` is prefixed when the target has no scheme) are
//! wrapped in `<a href="...">…</a>`; `$h`/`$p` links and links with any other
//! target render their text only.
//!
//! ```text
//! $o$f00Red$z plain  →  <span style="font-weight:bold;color:#f00">Red</span> plain
//! $l[twitch.tv/x]go  →  <a href="https://twitch.tv/x">go</a>
//! ```

use std::iter::Peekable;
use std::str::Chars;

/// Plain text: all formatting codes removed.
///
/// Link targets written in brackets are dropped, link texts are kept.
/// `$t` does not upper-case the text: it is a rendering style only.
#[must_use]
pub fn plain(input: &str) -> String {
    Lexer::new(input)
        .filter_map(|token| match token {
            Token::Text(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// HTML rendering with colours and styles, safe to inject: every `<`, `>`,
/// `&`, `"`, `'` from the input is escaped.
///
/// See the module documentation for the exact output format.
#[must_use]
pub fn html(input: &str) -> String {
    Document::parse(input).render()
}

/// Toggleable text styles, declared in the fixed order their CSS is emitted
/// so that equal formats always produce byte-identical output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Bold,
    Italic,
    Wide,
    Narrow,
    Upper,
    Shadow,
}

impl Style {
    /// All styles in CSS emission order.
    const ALL: [Style; 6] = [Style::Bold, Style::Italic, Style::Wide, Style::Narrow, Style::Upper, Style::Shadow];

    /// Bit of this style in [`Format::styles`]; a bitset keeps `Format`
    /// small, `Copy` and cheap to compare when merging runs.
    fn bit(self) -> u8 {
        1 << self as u8
    }

    /// CSS declaration rendering this style.
    fn css(self) -> &'static str {
        match self {
            Style::Bold => "font-weight:bold",
            Style::Italic => "font-style:italic",
            Style::Wide => "letter-spacing:0.1em",
            Style::Narrow => "letter-spacing:-0.1em",
            Style::Upper => "text-transform:uppercase",
            Style::Shadow => "text-shadow:1px 1px 1px #000",
        }
    }
}

/// Kind of link code, because only `$l` links may become `<a>` elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkKind {
    /// `$l`: an external (web) link.
    External,
    /// `$h` / `$p`: in-game links that mean nothing in a browser.
    Internal,
}

/// One lexical element of formatted text; both renderers consume the same
/// token stream so that `plain` and the text of `html` always agree.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// A visible character (including `$` from `$$` or a trailing `$`).
    Text(char),
    /// `$o`, `$i`, `$w`, `$n`, `$t`, `$s`.
    Toggle(Style),
    /// `$m`.
    NormalWidth,
    /// `$g`.
    DefaultColour,
    /// `$z`.
    Reset,
    /// `$RGB`, as three lower-case ASCII hex digits.
    Colour([u8; 3]),
    /// `$l`, `$h`, `$p`, with the bracketed target if there was one.
    Link { kind: LinkKind, target: Option<String> },
}

/// Turns formatted text into [`Token`]s. Works on `char`s only, so it can
/// never split a multi-byte character or index out of bounds.
struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
}

impl<'a> Lexer<'a> {
    /// Starts lexing `input` from its beginning.
    fn new(input: &'a str) -> Self {
        Lexer { chars: input.chars().peekable() }
    }

    /// Decodes the code after a `$`; `None` for unknown codes, which are
    /// dropped silently as the game does.
    fn code(&mut self, code: char) -> Option<Token> {
        if code.is_ascii_hexdigit() {
            return Some(self.colour(code));
        }
        let token = match code.to_ascii_lowercase() {
            '$' => Token::Text('$'),
            'o' => Token::Toggle(Style::Bold),
            'i' => Token::Toggle(Style::Italic),
            'w' => Token::Toggle(Style::Wide),
            'n' => Token::Toggle(Style::Narrow),
            't' => Token::Toggle(Style::Upper),
            's' => Token::Toggle(Style::Shadow),
            'm' => Token::NormalWidth,
            'g' => Token::DefaultColour,
            'z' => Token::Reset,
            'l' => self.link(LinkKind::External),
            'h' | 'p' => self.link(LinkKind::Internal),
            _ => return None,
        };
        Some(token)
    }

    /// Reads a colour greedily up to three hex digits. Only hex digits are
    /// consumed so a short colour never eats the text that follows; missing
    /// digits are padded with `f` (the rule of the original library).
    fn colour(&mut self, first: char) -> Token {
        let mut rgb = [b'f'; 3];
        rgb[0] = first.to_ascii_lowercase() as u8;
        for slot in rgb.iter_mut().skip(1) {
            match self.chars.next_if(char::is_ascii_hexdigit) {
                Some(digit) => *slot = digit.to_ascii_lowercase() as u8,
                None => break,
            }
        }
        Token::Colour(rgb)
    }

    /// Reads the optional `[target]` of a link code. The target ends at the
    /// first `]`, or at the end of input when the bracket is unterminated.
    fn link(&mut self, kind: LinkKind) -> Token {
        let target = self.chars.next_if_eq(&'[').map(|_| self.chars.by_ref().take_while(|&c| c != ']').collect());
        Token::Link { kind, target }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    /// Yields the next token, skipping unknown codes; a `$` at the very end
    /// of the input is kept as text so no visible character is lost.
    fn next(&mut self) -> Option<Token> {
        loop {
            let c = self.chars.next()?;
            if c != '$' {
                return Some(Token::Text(c));
            }
            let Some(code) = self.chars.next() else {
                return Some(Token::Text('$'));
            };
            if let Some(token) = self.code(code) {
                return Some(token);
            }
        }
    }
}

/// Current formatting state; `Copy + Eq` so runs can be merged by comparing
/// formats directly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Format {
    /// Bitset of active [`Style`]s.
    styles: u8,
    /// Active colour as lower-case hex digits, `None` for the default.
    colour: Option<[u8; 3]>,
}

impl Format {
    /// Whether `style` is active.
    fn has(self, style: Style) -> bool {
        self.styles & style.bit() != 0
    }

    /// Applies a formatting token; text and link tokens are ignored because
    /// they do not change the format.
    fn apply(&mut self, token: &Token) {
        match token {
            Token::Toggle(style) => self.toggle(*style),
            Token::NormalWidth => self.styles &= !(Style::Wide.bit() | Style::Narrow.bit()),
            Token::DefaultColour => self.colour = None,
            Token::Reset => *self = Format::default(),
            Token::Colour(rgb) => self.colour = Some(*rgb),
            Token::Text(_) | Token::Link { .. } => {}
        }
    }

    /// Toggles `style`; wide and narrow are mutually exclusive because both
    /// map to `letter-spacing`, so switching one on clears the other.
    fn toggle(&mut self, style: Style) {
        self.styles ^= style.bit();
        if self.has(style) {
            match style {
                Style::Wide => self.styles &= !Style::Narrow.bit(),
                Style::Narrow => self.styles &= !Style::Wide.bit(),
                _ => {}
            }
        }
    }

    /// CSS declarations for this format in fixed order, empty when the
    /// format is the default one.
    fn css(self) -> String {
        let mut parts: Vec<String> =
            Style::ALL.iter().filter(|style| self.has(**style)).map(|style| style.css().to_string()).collect();
        if let Some(rgb) = self.colour {
            let hex: String = rgb.iter().map(|&b| char::from(b)).collect();
            parts.push(format!("color:#{hex}"));
        }
        parts.join(";")
    }
}

/// A link found in the input, with the text it covers (needed because
/// `$ltext$l` uses its own text as the URL).
#[derive(Debug)]
struct Link {
    kind: LinkKind,
    target: Option<String>,
    text: String,
}

impl Link {
    /// The `href` to render, or `None` when the link must be shown as plain
    /// text (in-game links, or anything that is not an http(s) URL).
    fn href(&self) -> Option<String> {
        if self.kind != LinkKind::External {
            return None;
        }
        normalise_url(self.target.as_deref().unwrap_or(&self.text))
    }
}

/// Adds `https://` to scheme-less URLs and accepts only `http`/`https`, so
/// that `javascript:` and similar targets can never reach an `href`.
/// Whitespace and control characters inside the URL reject it outright.
fn normalise_url(raw: &str) -> Option<String> {
    let url = raw.trim();
    if url.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let url = if has_scheme(url) { url.to_string() } else { format!("https://{url}") };
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(url)
}

/// Whether `url` starts with an RFC 3986 scheme (`alpha *(alnum / + / - / .) :`).
fn has_scheme(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A stretch of text with one format inside (at most) one link.
#[derive(Debug)]
struct Run {
    format: Format,
    link: Option<usize>,
    text: String,
}

impl Run {
    /// Writes the run: bare escaped text when unformatted, a styled `<span>`
    /// otherwise.
    fn render_into(&self, out: &mut String) {
        let css = self.format.css();
        if css.is_empty() {
            escape_into(out, &self.text);
            return;
        }
        out.push_str("<span style=\"");
        escape_into(out, &css);
        out.push_str("\">");
        escape_into(out, &self.text);
        out.push_str("</span>");
    }
}

/// Parsed text: runs in order plus the links they refer to by index.
/// Parsing first and rendering second lets `$ltext$l` know its URL before
/// the opening `<a>` is written.
#[derive(Debug, Default)]
struct Document {
    runs: Vec<Run>,
    links: Vec<Link>,
}

impl Document {
    /// Interprets the token stream, tracking format and open link.
    fn parse(input: &str) -> Self {
        let mut doc = Document::default();
        let mut format = Format::default();
        let mut link = None;
        for token in Lexer::new(input) {
            match token {
                Token::Text(c) => doc.push_char(c, format, link),
                Token::Link { kind, target } => link = doc.link_code(kind, target, link),
                other => format.apply(&other),
            }
        }
        doc
    }

    /// Handles a link code: a bracketless code closes the open link;
    /// otherwise a new link is opened (implicitly closing any open one).
    fn link_code(&mut self, kind: LinkKind, target: Option<String>, open: Option<usize>) -> Option<usize> {
        if target.is_none() && open.is_some() {
            return None;
        }
        self.links.push(Link { kind, target, text: String::new() });
        Some(self.links.len() - 1)
    }

    /// Appends a visible character, extending the last run when format and
    /// link are unchanged so that output has no redundant spans.
    fn push_char(&mut self, c: char, format: Format, link: Option<usize>) {
        if let Some(id) = link {
            self.links[id].text.push(c);
        }
        match self.runs.last_mut() {
            Some(run) if run.format == format && run.link == link => run.text.push(c),
            _ => self.runs.push(Run { format, link, text: c.to_string() }),
        }
    }

    /// Renders all runs, opening and closing `<a>` elements at link
    /// boundaries. Links without any text produce no output at all.
    fn render(&self) -> String {
        let hrefs: Vec<Option<String>> = self.links.iter().map(Link::href).collect();
        let href_of = |link: Option<usize>| link.and_then(|id| hrefs[id].as_deref());
        let mut out = String::new();
        let mut current = None;
        for run in &self.runs {
            if run.link != current {
                if href_of(current).is_some() {
                    out.push_str("</a>");
                }
                if let Some(href) = href_of(run.link) {
                    out.push_str("<a href=\"");
                    escape_into(&mut out, href);
                    out.push_str("\">");
                }
                current = run.link;
            }
            run.render_into(&mut out);
        }
        if href_of(current).is_some() {
            out.push_str("</a>");
        }
        out
    }
}

/// `text` with HTML-significant characters escaped, for text and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// Escapes HTML-significant characters, valid both in text and in
/// double- or single-quoted attribute values.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Conformance vectors: (input, expected plain text).
    const PLAIN_VECTORS: &[(&str, &str)] = &[
        ("$f00$f3bדוזς $ga$nmgrebor$wn Lƒs", "דוזς amgreborn Lƒs"),
        ("$w$999c¢¬$c60Cork$0aascrew", "c¢¬Corkscrew"),
        ("$CCC$idebil.$z$s$a00Cѳrk$0f1s$0a5crew", "debil.Cѳrkscrew"),
        ("$o$i$a00K$a60a$aa0ck$0a0iest Kack$a00$a00y $g7 - Server 4", "Kackiest Kacky 7 - Server 4"),
        ("$a#$312skand", "#skand"),
        ("$000deb$qil.", "debil."),
        ("mög", "mög"),
        ("$fff$l[twitch.tv/aeqtm]aeैq$e00neverlucky", "aeैqneverlucky"),
        ("$fff$ltwitch.tv/aeqtm$laeैq$e00neverlucky", "twitch.tv/aeqtmaeैqneverlucky"),
        ("$l[kacky.gg]$fffIcैe$z$s$f00neverlucky", "Icैeneverlucky"),
        ("$l$fffsoै$000$fffc$fffi$e00neverlucky « т³", "soैcineverlucky « т³"),
        ("a$$b", "a$b"),
        ("abc$12", "abc"),
        ("$ff", ""),
        ("$fa$fff", ""),
        ("", ""),
        ("$", "$"),
        ("$o$i$a00K$a60a$aa0ck$0a0iest Kack$a00$a00y $i$0f47", "Kackiest Kacky 7"),
        ("$o$i$aa0Kack$05ay Re$09alo$6a0ad$aa0ed $4f04", "Kacky Reloaded 4"),
        ("$o$i$a0aK$a06a$a30ck$a60iest Kack$a00$a0ay $f408", "Kackiest Kacky 8"),
    ];

    #[test]
    fn plain_conformance_vectors() {
        for (input, expected) in PLAIN_VECTORS {
            assert_eq!(plain(input), *expected, "input: {input:?}");
        }
    }

    #[test]
    fn plain_edge_cases() {
        assert_eq!(plain("abc$l[never closed"), "abc");
        assert_eq!(plain("$H[x]a$P[y]b"), "ab");
        assert_eq!(plain("$é$😀x$"), "x$");
        assert_eq!(plain("$tupper"), "upper");
    }

    /// Asserts `html(input) == expected` with a helpful message.
    fn check(input: &str, expected: &str) {
        assert_eq!(html(input), expected, "input: {input:?}");
    }

    #[test]
    fn html_styles() {
        check("$oA", r#"<span style="font-weight:bold">A</span>"#);
        check("$iA", r#"<span style="font-style:italic">A</span>"#);
        check("$wA", r#"<span style="letter-spacing:0.1em">A</span>"#);
        check("$nA", r#"<span style="letter-spacing:-0.1em">A</span>"#);
        check("$tA", r#"<span style="text-transform:uppercase">A</span>"#);
        check("$sA", r#"<span style="text-shadow:1px 1px 1px #000">A</span>"#);
        check("$OA", r#"<span style="font-weight:bold">A</span>"#);
    }

    #[test]
    fn html_style_combinations_and_order() {
        check(
            "$s$t$n$i$oA",
            r#"<span style="font-weight:bold;font-style:italic;letter-spacing:-0.1em;text-transform:uppercase;text-shadow:1px 1px 1px #000">A</span>"#,
        );
        check("$w$nA", r#"<span style="letter-spacing:-0.1em">A</span>"#);
        check("$n$wA", r#"<span style="letter-spacing:0.1em">A</span>"#);
    }

    #[test]
    fn html_toggle_twice_cancels() {
        check("$o$oA", "A");
        check("$oA$oB", r#"<span style="font-weight:bold">A</span>B"#);
    }

    #[test]
    fn html_normal_width() {
        check("$wa$mb", r#"<span style="letter-spacing:0.1em">a</span>b"#);
        check("$na$mb", r#"<span style="letter-spacing:-0.1em">a</span>b"#);
        check(
            "$o$wa$mb",
            r#"<span style="font-weight:bold;letter-spacing:0.1em">a</span><span style="font-weight:bold">b</span>"#,
        );
    }

    #[test]
    fn html_default_colour() {
        check("$f00a$gb", r#"<span style="color:#f00">a</span>b"#);
        check(
            "$o$f00a$Gb",
            r#"<span style="font-weight:bold;color:#f00">a</span><span style="font-weight:bold">b</span>"#,
        );
    }

    #[test]
    fn html_reset() {
        check(
            "$o$i$w$f00a$zb",
            r#"<span style="font-weight:bold;font-style:italic;letter-spacing:0.1em;color:#f00">a</span>b"#,
        );
    }

    #[test]
    fn html_dollar_literal() {
        check("a$$b", "a$b");
        check("$f00$$", r#"<span style="color:#f00">$</span>"#);
    }

    #[test]
    fn html_colours() {
        check("$ax", r#"<span style="color:#aff">x</span>"#);
        check("$12x", r#"<span style="color:#12f">x</span>"#);
        check("$123x", r#"<span style="color:#123">x</span>"#);
        check("$ABCx", r#"<span style="color:#abc">x</span>"#);
        check("$1234", r#"<span style="color:#123">4</span>"#);
        check("$a#", r#"<span style="color:#aff">#</span>"#);
        check("$f00a$f00b", r#"<span style="color:#f00">ab</span>"#);
    }

    #[test]
    fn html_nickname() {
        check(
            "$fffacer$000.$009m$00Bl$00De$00Fm",
            concat!(
                r#"<span style="color:#fff">acer</span>"#,
                r#"<span style="color:#000">.</span>"#,
                r#"<span style="color:#009">m</span>"#,
                r#"<span style="color:#00b">l</span>"#,
                r#"<span style="color:#00d">e</span>"#,
                r#"<span style="color:#00f">m</span>"#,
            ),
        );
    }

    #[test]
    fn html_bracket_link() {
        check("$l[twitch.tv/x]go$l!", r#"<a href="https://twitch.tv/x">go</a>!"#);
        check("$L[http://a.b]go", r#"<a href="http://a.b">go</a>"#);
        check(
            "$l[x.y]$f00a$ob$l c",
            concat!(
                r#"<a href="https://x.y"><span style="color:#f00">a</span>"#,
                r#"<span style="font-weight:bold;color:#f00">b</span></a>"#,
                r#"<span style="font-weight:bold;color:#f00"> c</span>"#,
            ),
        );
        check("$l[a.b]x$l[c.d]y", r#"<a href="https://a.b">x</a><a href="https://c.d">y</a>"#);
        check("$l[a.b]$l", "");
    }

    #[test]
    fn html_text_link() {
        check("$ltwitch.tv/x$l", r#"<a href="https://twitch.tv/x">twitch.tv/x</a>"#);
        check(
            "$l$f00a.b$l!",
            r#"<a href="https://a.b"><span style="color:#f00">a.b</span></a><span style="color:#f00">!</span>"#,
        );
    }

    #[test]
    fn html_rejected_links_render_text() {
        check("$l[javascript:alert(1)]x$l", "x");
        check("$ljavascript:alert(1)$l", "javascript:alert(1)");
        check("$l[ftp://a.b]x", "x");
        check("$l[a b]x", "x");
        check("$l[]x", "x");
    }

    #[test]
    fn html_internal_links() {
        check("$h[maniaplanet]x$h", "x");
        check("$p[login]x$py", "xy");
        check("$hmenu$h", "menu");
    }

    #[test]
    fn html_truncated_codes() {
        check("abc$", "abc$");
        check("abc$l[", "abc");
        check("abc$l[x.y", "abc");
        check("abc$1", "abc");
        check("abc$l", "abc");
        check("", "");
    }

    #[test]
    fn html_unknown_and_multibyte_codes() {
        check("$qa$[b$é$😀c", "abc");
    }

    #[test]
    fn html_escaping() {
        check(r#"<b>$f00x</b>&"'"#, r#"&lt;b&gt;<span style="color:#f00">x&lt;/b&gt;&amp;&quot;&#39;</span>"#);
        check(r#"$l[a"b<c'd]x"#, r#"<a href="https://a&quot;b&lt;c&#39;d">x</a>"#);
        check("$l[a.b?x=1&y=2]x", r#"<a href="https://a.b?x=1&amp;y=2">x</a>"#);
    }

    /// Removes our own tags from `html`, checking every attribute value is
    /// properly escaped; returns the remaining text, or an error.
    fn strip_tags(html: &str) -> Result<String, String> {
        let mut text = String::new();
        let mut rest = html;
        while let Some(pos) = rest.find('<') {
            text.push_str(&rest[..pos]);
            rest = &rest[pos..];
            if let Some(after) = rest.strip_prefix("</span>").or_else(|| rest.strip_prefix("</a>")) {
                rest = after;
                continue;
            }
            let after = rest
                .strip_prefix("<span style=\"")
                .or_else(|| rest.strip_prefix("<a href=\""))
                .ok_or_else(|| format!("foreign tag at {rest:?}"))?;
            let end = after.find("\">").ok_or("unterminated tag")?;
            check_escaped(&after[..end])?;
            rest = &after[end + 2..];
        }
        text.push_str(rest);
        check_escaped(&text)?;
        Ok(text)
    }

    /// Checks `s` has no raw `<>"'` and every `&` starts a known entity.
    fn check_escaped(s: &str) -> Result<(), String> {
        const ENTITIES: [&str; 5] = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"];
        if s.contains(['<', '>', '"', '\'']) {
            return Err(format!("unescaped character in {s:?}"));
        }
        for (i, _) in s.match_indices('&') {
            if !ENTITIES.iter().any(|e| s[i..].starts_with(e)) {
                return Err(format!("bad entity in {s:?}"));
            }
        }
        Ok(())
    }

    /// Reverses [`escape_into`].
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
    }

    /// Properties shared by both input strategies.
    fn check_properties(input: &str) -> Result<(), String> {
        let plain_text = plain(input);
        let rendered = html(input);
        let text = strip_tags(&rendered)?;
        if unescape(&text) != plain_text {
            return Err(format!("html text {text:?} != plain {plain_text:?}"));
        }
        Ok(())
    }

    #[test]
    fn strip_tags_rejects_foreign_markup() {
        assert!(strip_tags("<b>x</b>").is_err());
        assert!(strip_tags("a\"b").is_err());
        assert!(strip_tags("a&b").is_err());
        assert!(strip_tags(r#"<span style="a"b">x</span>"#).is_err());
        assert!(strip_tags(r#"<span style="color:#f00">x&amp;</span>"#).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_strings_are_safe(input in ".*") {
            if let Err(e) = check_properties(&input) {
                proptest::prop_assert!(false, "{}", e);
            }
        }

        #[test]
        fn code_heavy_strings_are_safe(
            input in "[$\\[\\]0-9a-fA-FlLhHpPoiwntsmgzq<>&\"'.:/ éैדт😀]{0,48}"
        ) {
            if let Err(e) = check_properties(&input) {
                proptest::prop_assert!(false, "{}", e);
            }
        }
    }
}
