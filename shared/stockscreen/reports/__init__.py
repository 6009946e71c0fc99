"""Reports: daily digest, weekly portfolio report, screen report; email + PDF; scheduled by a workflow."""
