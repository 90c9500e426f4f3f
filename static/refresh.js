// «I dag i Borgertun» on the screen by the door: fetch the page again every minute.
setTimeout(function () { window.location.reload(); }, 60000);
