# Jaeger and Prometheus beside a local cluster (./ops/up --observe). Sourced by ops/up after
# lib.sh. Jaeger (ops/tools jaeger, in memory: traces last as long as it runs) takes OTLP on
# :4318 and serves its page and API on :16686; Prometheus (Debian's) scrapes the three
# services every 15 s with hookline's rules, keeping its data in .data/prometheus.
# Jaeger's page is the jaeger-ui build of ops/tools jaeger-ui when it exists (or can be built from
# JAEGER_UI_SOURCE); JAEGER_UI_ASSETS names another build directory (ops/jaeger/jaeger.yaml).
OBSERVE_PORTS=(4318 16686 16685 9090)

start_observe() {
  local jaeger port
  jaeger=$("$ROOT/ops/tools" jaeger) || die "could not build Jaeger (ops/tools jaeger)"
  command -v prometheus >/dev/null || die "no prometheus; run ./ops/setup"
  for port in "${OBSERVE_PORTS[@]}"; do
    port_open "$port" && die "port $port is taken; --observe needs ${OBSERVE_PORTS[*]} (Jaeger, Prometheus)"
  done
  mkdir -p "$DATA/prometheus"
  if [ -z "${JAEGER_UI_ASSETS:-}" ]; then
    JAEGER_UI_ASSETS=$("$ROOT/ops/tools" jaeger-ui 2>/dev/null) \
      || { JAEGER_UI_ASSETS=""; warn "no jaeger-ui build: Jaeger's page is a placeholder (set JAEGER_UI_SOURCE; README 'Observe locally')"; }
    export JAEGER_UI_ASSETS
  fi
  say "starting Jaeger (in memory) on :16686, OTLP on :4318"
  ( nohup "$jaeger" --config "$ROOT/ops/jaeger/jaeger.yaml" >"$DATA/jaeger.log" 2>&1 & echo $! >"$DATA/jaeger.pid" )
  say "starting Prometheus on :9090"
  ( nohup prometheus --config.file="$ROOT/ops/prometheus/prometheus.yml" --storage.tsdb.path="$DATA/prometheus" \
      --web.listen-address=127.0.0.1:9090 >"$DATA/prometheus.log" 2>&1 & echo $! >"$DATA/prometheus.pid" )
  wait_port 16686 jaeger 30
  wait_port 9090 prometheus 30
  # The services export every span to Jaeger (a sender's unsampled traceparent is still honoured).
  export OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:4318}"
  export OTEL_EXPORTER_OTLP_PROTOCOL="${OTEL_EXPORTER_OTLP_PROTOCOL:-http/protobuf}"
}

stop_observe() {
  stop_pidfile "$DATA/jaeger.pid"
  stop_pidfile "$DATA/prometheus.pid"
}
