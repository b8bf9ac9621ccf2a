# Minimal JSON writer with full double precision (%.17g, exact round trip), used by
# make_reference.R. jsonlite caps numbers at 15 significant digits.
#
# Conventions:
#   named list        -> object;  unnamed list -> array
#   atomic length 1   -> scalar, unless wrapped in arr() (then a one-element array)
#   atomic length !=1 -> array
#   matrix            -> array of rows (row-major)
#   data.frame        -> object of column arrays
#   NA, NaN, +-Inf    -> null

arr <- function(x) structure(x, class = c("json_array", class(x)))

fmt_num <- function(x) {
  # %.17g always round-trips; shorter forms are not used because R's own strtod is not
  # correctly rounded, so "it parses back in R" does not prove it parses back in Python.
  out <- sprintf("%.17g", x)
  out[!is.finite(x)] <- "null"
  out
}

fmt_str <- function(x) {
  out <- gsub("\\\\", "\\\\\\\\", enc2utf8(as.character(x)))
  out <- gsub("\"", "\\\\\"", out)
  out <- gsub("\n", "\\\\n", out)
  out <- gsub("\t", "\\\\t", out)
  out <- gsub("\r", "\\\\r", out)
  out <- ifelse(is.na(x), "null", paste0("\"", out, "\""))
  out
}

fmt_atomic <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.logical(x)) return(ifelse(is.na(x), "null", ifelse(x, "true", "false")))
  if (is.numeric(x)) {
    if (is.integer(x)) return(ifelse(is.na(x), "null", as.character(x)))
    return(fmt_num(as.double(x)))
  }
  fmt_str(x)
}

to_json <- function(x, indent = 0L) {
  pad <- strrep("  ", indent)
  pad1 <- strrep("  ", indent + 1L)
  if (is.null(x)) return("null")
  if (is.data.frame(x)) {
    cols <- lapply(x, function(col) arr(if (is.factor(col)) as.character(col) else col))
    return(to_json(cols, indent))
  }
  if (is.matrix(x)) {
    rows <- vapply(seq_len(nrow(x)), function(i) {
      paste0("[", paste(fmt_atomic(unclass(x[i, ])), collapse = ", "), "]")
    }, "")
    if (length(rows) == 0L) return("[]")
    return(paste0("[\n", paste0(pad1, rows, collapse = ",\n"), "\n", pad, "]"))
  }
  if (is.list(x)) {
    if (length(x) == 0L) return(if (is.null(names(x))) "[]" else "{}")
    vals <- vapply(x, to_json, "", indent = indent + 1L)
    if (!is.null(names(x))) {
      body <- paste0(pad1, fmt_str(names(x)), ": ", vals, collapse = ",\n")
      return(paste0("{\n", body, "\n", pad, "}"))
    }
    return(paste0("[\n", paste0(pad1, vals, collapse = ",\n"), "\n", pad, "]"))
  }
  force_array <- inherits(x, "json_array")
  if (force_array) class(x) <- setdiff(class(x), "json_array")
  x <- unname(x)
  if (length(x) == 1L && !force_array) return(fmt_atomic(x))
  paste0("[", paste(fmt_atomic(x), collapse = ", "), "]")
}

write_json_file <- function(x, path) {
  writeLines(to_json(x), path, useBytes = TRUE)
  message("wrote ", path)
}
