# Time one lme4 fit and print one line of JSON to stdout.
#
# Usage:
#   Rscript benchmarks/r/lme4_fit.R DATA.csv[.gz] "FORMULA" REML|ML factorcols
# factorcols: comma-separated columns converted to factors ("" or "-" for none). They are read
# as character, so with LC_ALL=C levels sort like Python's sorted() on strings.
#
# Output: {"engine":"lme4", "seconds": fit time, "read_seconds": read time, "deviance": REMLcrit for
# REML, -2 logLik for ML, "n_iter": bobyqa function evaluations, "peak_rss_mb": VmHWM, ...}
# Set OPENBLAS_NUM_THREADS explicitly (reported as "openblas_threads"): on a loaded 2-core machine
# the threaded OpenBLAS made the InstEval REML fit 15.7 s (1 thread) vs 21-103 s (default threads).

invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3 || length(args) > 4 || !(args[3] %in% c("REML", "ML"))) {
  cat("usage: Rscript lme4_fit.R DATA.csv[.gz] \"FORMULA\" REML|ML [factorcols]\n", file = stderr())
  quit(status = 2)
}
path <- args[1]
formula <- as.formula(args[2])
reml <- args[3] == "REML"
factors <- if (length(args) == 4 && nzchar(args[4]) && args[4] != "-") {
  trimws(strsplit(args[4], ",", fixed = TRUE)[[1]])
} else character()

suppressPackageStartupMessages(library(lme4))

peak_rss_mb <- function() {
  st <- tryCatch(readLines("/proc/self/status"), error = function(e) character())
  line <- grep("^VmHWM:", st, value = TRUE)
  if (!length(line)) return(NA_real_)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}

t_read <- system.time({
  cc <- if (length(factors)) setNames(rep("character", length(factors)), factors) else NA
  d <- read.csv(path, colClasses = cc, stringsAsFactors = FALSE)
  missing_cols <- setdiff(factors, names(d))
  if (length(missing_cols)) stop("factor column(s) not in data: ", paste(missing_cols, collapse = ", "))
  for (f in factors) d[[f]] <- factor(d[[f]])
})[["elapsed"]]

t_fit <- system.time(
  m <- lmer(formula, data = d, REML = reml,
            control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
)[["elapsed"]]

dev <- if (reml) REMLcrit(m) else -2 * as.numeric(logLik(m))
feval <- m@optinfo$feval
num <- function(x, fmt = "%.17g") if (is.null(x) || !is.finite(x)) "null" else sprintf(fmt, x)
str <- function(x) paste0("\"", gsub("\"", "\\\\\"", x), "\"")

fields <- c(
  engine = str("lme4"),
  lme4_version = str(as.character(packageVersion("lme4"))),
  method = str(args[3]),
  formula = str(paste(deparse(formula, width.cutoff = 500L), collapse = " ")),
  nobs = as.character(nobs(m)),
  seconds = num(t_fit, "%.3f"),
  read_seconds = num(t_read, "%.3f"),
  deviance = num(dev),
  n_iter = if (is.null(feval)) "null" else as.character(feval),
  singular = if (isSingular(m)) "true" else "false",
  openblas_threads = str(Sys.getenv("OPENBLAS_NUM_THREADS", "default")),
  peak_rss_mb = num(peak_rss_mb(), "%.1f")
)
cat("{", paste0("\"", names(fields), "\": ", fields, collapse = ", "), "}\n", sep = "")
