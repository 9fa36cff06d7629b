/**
 * Loads ICU's data (number, date and collation formats) for the page's process, off the main
 * thread: the first Intl object a page makes otherwise costs its main thread 34-117 ms
 * (measured in Chromium here), and the charts' library makes two when its module loads.
 */
new Intl.NumberFormat('en-US').format(16185);
new Intl.DateTimeFormat().resolvedOptions();
new Intl.Collator().compare('a', 'b');
postMessage('ready');
