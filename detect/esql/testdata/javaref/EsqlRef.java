// EsqlRef produces reference vectors for the Go port of the published rule.
// It runs the JDK's own java.net.URLDecoder and java.util.regex on each input
// line (a JSON string holding a requestURI) and prints one JSON object a line.
// GROK is Joni in Elasticsearch; java.util.regex with UNIX_LINES has the same
// '.' (all but '\n') and the same leftmost-first backtracking.
//
// Regenerate: java EsqlRef.java < inputs.jsonl > vectors.jsonl
import java.io.*;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.regex.*;

public class EsqlRef {
    static final Pattern GROK = Pattern.compile(
        "(?:.*?)/exec\\?(.*?)&(?:container|stdin|stdout|stderr)=(?:.*)", Pattern.UNIX_LINES);
    static Pattern rl(String p) { return Pattern.compile(p, Pattern.DOTALL); }
    static final Pattern WHERE = rl(".*(169\\.254\\.169\\.254|2852039166|0xa9fea9fe|/latest/api/token|/latest/meta-data|/latest/user-data|/latest/dynamic/instance-identity|computeMetadata/v1|metadata\\.google\\.internal|metadata/identity/oauth2/token|metadata/instance).*");
    static final Pattern AWS = rl(".*(169\\.254\\.169\\.254|2852039166|0xa9fea9fe|/latest/meta-data|/latest/api/token|/latest/user-data|/latest/dynamic).*");
    static final Pattern GCP = rl(".*(computeMetadata/v1|metadata\\.google\\.internal).*");
    static final Pattern AZ = rl(".*metadata/identity/oauth2/token.*");
    static final Pattern THEFT = rl(".*(security-credentials|/api/token|oauth2/token|service-accounts/.*/token).*");

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) continue;
            String uri = unjson(line);
            StringBuilder sb = new StringBuilder("{\"uri\":").append(json(uri));
            String decoded = null;
            try {
                decoded = URLDecoder.decode(uri, StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                sb.append(",\"decode_error\":true}");
                out.println(sb);
                continue;
            }
            sb.append(",\"decoded\":").append(json(decoded));
            Matcher m = GROK.matcher(decoded);
            if (!m.find()) {
                sb.append(",\"grok\":false}");
                out.println(sb);
                continue;
            }
            String raw = m.group(1);
            String cmd = raw.replaceAll("command=", "").replaceAll("&", " ").replaceAll("\\+", " ");
            sb.append(",\"grok\":true,\"raw_commands\":").append(json(raw));
            sb.append(",\"executed_command\":").append(json(cmd));
            boolean where = WHERE.matcher(cmd).matches();
            sb.append(",\"where\":").append(where);
            String cloud = AWS.matcher(cmd).matches() ? "AWS_IMDS" : GCP.matcher(cmd).matches() ? "GCP_METADATA"
                : AZ.matcher(cmd).matches() ? "AZURE_IMDS" : "UNKNOWN";
            sb.append(",\"cloud_target\":\"").append(cloud).append('"');
            sb.append(",\"is_credential_theft\":\"").append(THEFT.matcher(cmd).matches() ? "yes" : "recon").append("\"}");
            out.println(sb);
        }
    }

    // json writes s as a JSON string, escaping every non-ASCII unit so the
    // file stays ASCII and surrogates survive.
    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    // unjson reads one JSON string literal of the form json() writes.
    static String unjson(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i < s.length() - 1; i++) {
            char c = s.charAt(i);
            if (c != '\\') { b.append(c); continue; }
            char e = s.charAt(++i);
            switch (e) {
                case 'u': b.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16)); i += 4; break;
                case 'n': b.append('\n'); break;
                case 'r': b.append('\r'); break;
                case 't': b.append('\t'); break;
                case 'b': b.append('\b'); break;
                case 'f': b.append('\f'); break;
                default: b.append(e);
            }
        }
        return b.toString();
    }
}
